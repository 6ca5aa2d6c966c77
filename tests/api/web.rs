//! The embedded web client: `/` serves its page, `/assets/…` its hashed
//! files, and the API routes beside it are unchanged.

use crate::helpers::spawn_app;

/// The value of the first `attr="…"` in `html`.
fn attribute<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
    let start = html.find(&format!("{attr}=\""))? + attr.len() + 2;
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_root_serves_the_client_and_its_assets() {
    let app = spawn_app().await;

    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let etag = header(&page, "etag").to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag:?}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<main id=\"app\""),
        "the client's page: {html}"
    );

    let script = attribute(&html, "src").expect("index.html names its script");
    assert!(
        script.starts_with("/assets/") && script.ends_with(".js"),
        "{script}"
    );
    let js = app.http.get(app.url(script)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        header(&js, "content-type").contains("javascript"),
        "{:?}",
        js.headers()
    );
    assert_eq!(
        header(&js, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&js, "x-content-type-options"), "nosniff");
    assert!(!js.bytes().await.unwrap().is_empty());

    let style = html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|href| href.starts_with("/assets/") && href.ends_with(".css"))
        .expect("index.html names its stylesheet");
    let css = app.http.get(app.url(style)).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");

    // A revalidation of an unchanged page costs no body.
    let again = app
        .http
        .get(app.url("/"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn unknown_assets_are_not_found_and_the_api_routes_are_unchanged() {
    let app = spawn_app().await;
    for path in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let playground = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(playground.status(), 200);
    assert!(
        playground
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

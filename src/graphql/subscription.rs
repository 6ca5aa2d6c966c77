//! How `/graphql/ws` executes subscriptions.
//!
//! Nearly every subscription is a waiter following its ticket: one
//! `queueUpdates` field with plain `QueueTicket` fields under it. For those
//! the answer is built straight from the ticket view, without a GraphQL
//! execution per push. async-graphql keeps a query environment alive per
//! subscription and runs every field's resolver for every message: about
//! 7 KiB per idle subscriber, and half the server's share of the admission
//! push latency with 19,000 subscribed (`BENCHMARKS.md`). Every other
//! document, and every subscription that fails to start, goes through the
//! schema as usual, so validation, errors and their codes are the schema's
//! own.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Data, Executor, Name, Request, Response, Value};
use async_graphql_value::Value as ArgumentValue;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};

use super::AppSchema;
use super::context::Viewer;
use super::error::label_uncoded;
use super::limits::Documents;
use super::queue::{QueueTicket, TicketField};
use crate::domain::queue;
use crate::state::AppState;

/// Runs queries through the schema and plain `queueUpdates` subscriptions
/// through [`Plan`].
#[derive(Clone)]
pub struct SubscriptionExecutor {
    schema: AppSchema,
    documents: Documents,
    app: AppState,
}

impl SubscriptionExecutor {
    #[must_use]
    pub fn new(schema: AppSchema, documents: Documents, app: AppState) -> Self {
        Self {
            schema,
            documents,
            app,
        }
    }

    #[must_use]
    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// The stream of results of a subscription (or the one result of a
    /// query or mutation) that a connection acknowledged as `viewer`
    /// started.
    pub fn execute_stream(
        &self,
        request: Request,
        viewer: Option<&Viewer>,
    ) -> BoxStream<'static, Response> {
        let mut request = match self.documents.prepare(request) {
            Ok(request) => request,
            Err(refused) => {
                let response = label_uncoded(Response::from_errors(vec![refused]));
                return futures_util::stream::once(std::future::ready(response)).boxed();
            }
        };
        let Some((plan, token)) = Plan::of(&mut request).and_then(|plan| {
            let token = plan.token(&request, viewer)?;
            Some((plan, token))
        }) else {
            return labelled(Executor::execute_stream(
                &self.schema,
                request,
                session_data(viewer),
            ));
        };
        let viewer = viewer.cloned();
        let app = self.app.clone();
        let schema = self.schema.clone();
        // Boxed apart from the stream it yields, so that a subscription
        // holds the stream alone once started, not room for this future.
        let start = Box::pin(async move {
            let followed = queue::follow(
                &app.domain,
                &token,
                app.push_interval(),
                app.shutdown.clone(),
            )
            .await;
            match followed {
                Ok(updates) => updates
                    .map(move |view| plan.response(&QueueTicket::from(view)))
                    .boxed(),
                // The schema says why, in its own words and codes.
                Err(_) => labelled(Executor::execute_stream(
                    &schema,
                    request,
                    session_data(viewer.as_ref()),
                )),
            }
        });
        start.flatten_stream().boxed()
    }
}

/// The schema's session for a connection acknowledged as `viewer`: made
/// only for a document the schema runs, since a planned subscription reads
/// its token from the viewer alone.
fn session_data(viewer: Option<&Viewer>) -> Option<Arc<Data>> {
    viewer.map(|viewer| {
        let mut session = Data::default();
        session.insert(viewer.clone());
        Arc::new(session)
    })
}

/// A schema's stream, with its errors coded as over HTTP.
fn labelled(stream: BoxStream<'static, Response>) -> BoxStream<'static, Response> {
    stream.map(label_uncoded).boxed()
}

/// Where the token of a planned subscription comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenSource {
    /// No argument, or a literal null: the `connection_init` payload.
    Session,
    Literal(String),
    /// A variable of type `String` or `String!`.
    Variable {
        name: Name,
        required: bool,
    },
}

/// A subscription to `queueUpdates` selecting plain `QueueTicket` fields,
/// answered without a GraphQL execution per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The response key of `queueUpdates` (its alias, if any).
    root: Name,
    token: TokenSource,
    /// Response keys in execution order, each with its field.
    fields: Vec<(Name, TicketField)>,
}

/// Fragments nested deeper than this are left to the schema.
const MAX_FRAGMENT_DEPTH: usize = 4;
/// Selections visited while planning, fragments expanded, at most: a
/// fragment spread many times over several levels (a fragment bomb) is
/// left to the schema, whose own limits refuse it.
const MAX_SELECTIONS: usize = 256;

impl Plan {
    /// The plan for `request`, or `None` when the schema must run it: any
    /// document but a lone `queueUpdates` subscription over plain fields,
    /// without directives, and every document that fails to parse or
    /// would fail validation in a way this shape cannot rule out.
    pub(crate) fn of(request: &mut Request) -> Option<Self> {
        let operation_name = request.operation_name.clone();
        let document = request.parsed_query().ok()?;
        Self::of_document(document, operation_name.as_deref())
    }

    fn of_document(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<Self> {
        let operation = match &document.operations {
            // An anonymous operation has no name to match.
            DocumentOperations::Single(_) if operation_name.is_some() => return None,
            DocumentOperations::Single(operation) => operation,
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                let (name, operation) = operations.iter().next()?;
                if operation_name.is_some_and(|wanted| wanted != name.as_str()) {
                    return None;
                }
                operation
            }
            DocumentOperations::Multiple(_) => return None,
        };
        let operation = &operation.node;
        if operation.ty != OperationType::Subscription || !operation.directives.is_empty() {
            return None;
        }
        let [root] = operation.selection_set.node.items.as_slice() else {
            return None;
        };
        let Selection::Field(root) = &root.node else {
            return None;
        };
        let root = &root.node;
        if root.name.node != "queueUpdates" || !root.directives.is_empty() {
            return None;
        }

        // Arguments: at most `token`, a string, null or a declared variable.
        let token = match root.arguments.as_slice() {
            [] => TokenSource::Session,
            [(name, value)] if name.node == "token" => match &value.node {
                ArgumentValue::Null => TokenSource::Session,
                ArgumentValue::String(token) => TokenSource::Literal(token.clone()),
                ArgumentValue::Variable(variable) => TokenSource::Variable {
                    name: variable.clone(),
                    required: false,
                },
                _ => return None,
            },
            _ => return None,
        };
        // Variables: none, or the token's own, declared `String` or
        // `String!` without a default (an unused one fails validation).
        let token = match (token, operation.variable_definitions.as_slice()) {
            (token @ (TokenSource::Session | TokenSource::Literal(_)), []) => token,
            (TokenSource::Variable { name, .. }, [definition]) => {
                let definition = &definition.node;
                let ty = &definition.var_type.node;
                if definition.name.node != name
                    || definition.default_value.is_some()
                    || !definition.directives.is_empty()
                    || ty.base != BaseType::Named(Name::new("String"))
                {
                    return None;
                }
                TokenSource::Variable {
                    name,
                    required: !ty.nullable,
                }
            }
            _ => return None,
        };

        let mut walk = Walk {
            fragments: &document.fragments,
            budget: MAX_SELECTIONS,
            fields: Vec::new(),
            used: Vec::new(),
        };
        walk.collect(&root.selection_set.node, 0)?;
        let Walk { fields, used, .. } = walk;
        // An unused fragment fails validation: the schema says so.
        if fields.is_empty() || document.fragments.keys().any(|name| !used.contains(name)) {
            return None;
        }
        Some(Self {
            root: root.response_key().node.clone(),
            token,
            fields,
        })
    }

    /// The token this subscription follows, or `None` when the schema must
    /// answer (a missing or malformed token, a variable of the wrong type).
    fn token(&self, request: &Request, viewer: Option<&Viewer>) -> Option<String> {
        let from_session = || {
            let viewer = viewer?;
            (!viewer.malformed).then(|| viewer.token.clone())?
        };
        match &self.token {
            TokenSource::Session => from_session(),
            TokenSource::Literal(token) => Some(token.clone()),
            TokenSource::Variable { name, required } => match request.variables.get(name) {
                Some(Value::String(token)) => Some(token.clone()),
                None | Some(Value::Null) if !required => from_session(),
                _ => None,
            },
        }
    }

    /// One message of the stream: the selected fields of `ticket`.
    pub(crate) fn response(&self, ticket: &QueueTicket) -> Response {
        let fields = self
            .fields
            .iter()
            .map(|(key, field)| (key.clone(), ticket.value_of(*field)))
            .collect();
        let mut data = async_graphql::indexmap::IndexMap::with_capacity(1);
        data.insert(self.root.clone(), Value::Object(fields));
        Response::new(Value::Object(data))
    }
}

/// The fields of a selection, collected as GraphQL executes them.
struct Walk<'d> {
    fragments: &'d HashMap<Name, async_graphql::Positioned<FragmentDefinition>>,
    /// Selections still allowed to visit.
    budget: usize,
    /// Response keys in execution order, each with its field.
    fields: Vec<(Name, TicketField)>,
    /// Fragments spread at least once.
    used: Vec<Name>,
}

impl Walk<'_> {
    /// Appends the fields of `set` in execution order (a repeated response
    /// key is merged into its first place), following fragments on
    /// `QueueTicket`. `None` when anything is not a plain field of
    /// `QueueTicket`, or the walk grows too deep or too long.
    fn collect(&mut self, set: &SelectionSet, depth: usize) -> Option<()> {
        if depth > MAX_FRAGMENT_DEPTH {
            return None;
        }
        for item in &set.items {
            self.budget = self.budget.checked_sub(1)?;
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if !field.arguments.is_empty()
                        || !field.directives.is_empty()
                        || !field.selection_set.node.items.is_empty()
                    {
                        return None;
                    }
                    let kind = TicketField::named(&field.name.node)?;
                    let key = field.response_key().node.clone();
                    match self.fields.iter().find(|(seen, _)| *seen == key) {
                        // The same field twice is one; two fields under one
                        // key fail validation.
                        Some((_, seen)) if *seen == kind => {}
                        Some(_) => return None,
                        None => self.fields.push((key, kind)),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    let name = &spread.fragment_name.node;
                    let fragment = &self.fragments.get(name)?.node;
                    if !spread.directives.is_empty()
                        || !fragment.directives.is_empty()
                        || fragment.type_condition.node.on.node != "QueueTicket"
                    {
                        return None;
                    }
                    if !self.used.contains(name) {
                        self.used.push(name.clone());
                    }
                    self.collect(&fragment.selection_set.node, depth + 1)?;
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    if !inline.directives.is_empty()
                        || inline
                            .type_condition
                            .as_ref()
                            .is_some_and(|on| on.node.on.node != "QueueTicket")
                    {
                        return None;
                    }
                    self.collect(&inline.selection_set.node, depth + 1)?;
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(query: &str) -> Option<Plan> {
        Plan::of(&mut Request::new(query))
    }

    fn keys(plan: &Plan) -> Vec<(&str, TicketField)> {
        plan.fields.iter().map(|(k, f)| (k.as_str(), *f)).collect()
    }

    #[test]
    fn plain_selections_are_planned_in_order() {
        let p = plan("subscription { queueUpdates { status position s: status __typename } }")
            .expect("planned");
        assert_eq!(p.root, "queueUpdates");
        assert_eq!(p.token, TokenSource::Session);
        assert_eq!(
            keys(&p),
            [
                ("status", TicketField::Status),
                ("position", TicketField::Position),
                ("s", TicketField::Status),
                ("__typename", TicketField::Typename),
            ]
        );
    }

    #[test]
    fn fragments_on_the_ticket_are_followed() {
        let p = plan(
            "subscription Q { u: queueUpdates { ...F position ... on QueueTicket { token } } }
             fragment F on QueueTicket { status position ...G }
             fragment G on QueueTicket { expiresAt }",
        )
        .expect("planned");
        assert_eq!(p.root, "u");
        assert_eq!(
            keys(&p),
            [
                ("status", TicketField::Status),
                ("position", TicketField::Position),
                ("expiresAt", TicketField::ExpiresAt),
                ("token", TicketField::Token),
            ]
        );
    }

    #[test]
    fn the_token_argument_is_read() {
        let p = plan(r#"subscription { queueUpdates(token: "abc") { status } }"#).expect("planned");
        assert_eq!(p.token, TokenSource::Literal("abc".into()));
        let p = plan("subscription($t: String!) { queueUpdates(token: $t) { status } }")
            .expect("planned");
        assert_eq!(
            p.token,
            TokenSource::Variable {
                name: Name::new("t"),
                required: true
            }
        );
    }

    #[test]
    fn everything_else_is_left_to_the_schema() {
        for query in [
            "{ queueTicket { status } }",
            "mutation { issueQueueToken(userId: \"a\") { status } }",
            "subscription { queueUpdates { status @include(if: true) } }",
            "subscription { queueUpdates @skip(if: false) { status } }",
            "subscription @x { queueUpdates { status } }",
            "subscription { queueUpdates { status bogus } }",
            "subscription { queueUpdates { status: position status } }",
            "subscription { queueUpdates }",
            "subscription { queueUpdates { } }",
            "subscription { queueUpdates(token: 1) { status } }",
            "subscription { queueUpdates(other: \"x\") { status } }",
            "subscription($t: Int) { queueUpdates(token: $t) { status } }",
            "subscription($t: String = \"x\") { queueUpdates(token: $t) { status } }",
            "subscription($t: String, $u: String) { queueUpdates(token: $t) { status } }",
            "subscription($u: String) { queueUpdates { status } }",
            "subscription { queueUpdates { ...F } } fragment F on Seat { status }",
            "subscription { queueUpdates { ...F } } fragment F on QueueTicket { ...F }",
            "subscription { queueUpdates { status } } fragment F on QueueTicket { status }",
            "subscription { queueUpdates { ...Missing } }",
            "subscription { queueUpdates { status } queueUpdates { position } }",
            "subscription A { queueUpdates { status } } subscription B { queueUpdates { status } }",
            "subscription {",
        ] {
            assert_eq!(plan(query), None, "{query}");
        }
    }

    #[test]
    fn a_fragment_bomb_is_left_to_the_schema_at_once() {
        // Expanded, this document would name 3^40 fields.
        let mut query = String::from("subscription { queueUpdates { ...F0 } }");
        for level in 0..40 {
            query.push_str(&format!(
                " fragment F{level} on QueueTicket {{ ...F{n} ...F{n} ...F{n} }}",
                n = level + 1
            ));
        }
        query.push_str(" fragment F40 on QueueTicket { status }");
        assert_eq!(plan(&query), None);

        // Wide rather than deep: 200 spreads of a fragment with 200 fields,
        // valid, but 40,000 selections to visit.
        let fields = "status ".repeat(200);
        let spreads = "...W ".repeat(200);
        let query = format!(
            "subscription {{ queueUpdates {{ {spreads} }} }} fragment W on QueueTicket {{ {fields} }}"
        );
        assert_eq!(plan(&query), None);
    }

    #[test]
    fn a_named_operation_must_match() {
        let mut request = Request::new("subscription Q { queueUpdates { status } }");
        request.operation_name = Some("Other".into());
        assert_eq!(Plan::of(&mut request), None);
        request.operation_name = Some("Q".into());
        assert!(Plan::of(&mut request).is_some());
    }

    #[test]
    fn a_token_of_the_wrong_kind_is_left_to_the_schema() {
        let p = plan("subscription($t: String) { queueUpdates(token: $t) { status } }")
            .expect("planned");
        let mut request = Request::new("");
        request.variables = async_graphql::Variables::from_json(serde_json::json!({ "t": 5 }));
        assert_eq!(p.token(&request, None), None);
        request.variables = async_graphql::Variables::from_json(serde_json::json!({ "t": "x" }));
        assert_eq!(p.token(&request, None).as_deref(), Some("x"));

        let session = Viewer {
            token: Some("from-init".into()),
            ..Viewer::default()
        };
        request.variables = async_graphql::Variables::default();
        assert_eq!(
            p.token(&request, Some(&session)).as_deref(),
            Some("from-init")
        );
        let malformed = Viewer {
            token: None,
            malformed: true,
            client_ip: None,
        };
        assert_eq!(p.token(&request, Some(&malformed)), None);
    }

    /// Every field of `QueueTicket` in the schema is one the plan knows,
    /// and no other: a field renamed or removed there cannot be answered
    /// here under its old name.
    #[test]
    fn the_plan_knows_exactly_the_schema_fields() {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

        let sdl = async_graphql::parser::parse_schema(super::super::sdl()).expect("the SDL parses");
        let ticket = sdl
            .definitions
            .iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) if ty.node.name.node == "QueueTicket" => {
                    Some(&ty.node.kind)
                }
                _ => None,
            });
        let Some(TypeKind::Object(ticket)) = ticket else {
            panic!("QueueTicket is an object type in the SDL");
        };
        let mut in_schema: Vec<&str> = ticket
            .fields
            .iter()
            .map(|field| field.node.name.node.as_str())
            .collect();
        in_schema.push("__typename");
        in_schema.sort_unstable();
        let mut known: Vec<&str> = TicketField::ALL.iter().map(|f| f.name()).collect();
        known.sort_unstable();
        assert_eq!(in_schema, known);
    }
}

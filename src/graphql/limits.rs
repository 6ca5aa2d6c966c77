//! A guard in front of async-graphql's validation: the size of a document
//! once its fragment spreads are expanded.
//!
//! async-graphql's recursion-depth check and validation walk fragment
//! spreads without memoizing, so a "fragment bomb" (each fragment spreading
//! the next one twice) costs 2^n before any limit refuses it: 20 levels
//! took 30 s of CPU in a debug build. Counting the expanded size here, once
//! per fragment, is linear in the document and runs before either.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::parse_query;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, Variables};

/// Installs the expansion limit on a schema.
pub struct ExpansionLimit(pub usize);

impl ExtensionFactory for ExpansionLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ExpansionGuard { max_fields: self.0 })
    }
}

struct ExpansionGuard {
    max_fields: usize,
}

#[async_trait::async_trait]
impl Extension for ExpansionGuard {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Count on our own parse, before async-graphql's: its recursion
        // depth check also walks spreads without memoizing.
        let Ok(document) = parse_query(query) else {
            // Let async-graphql report the syntax error its own way.
            return next.run(ctx, query, variables).await;
        };
        let fields = expanded_fields(&document, self.max_fields);
        if fields > self.max_fields {
            let mut error = ServerError::new(
                format!("the query expands to more than {} fields", self.max_fields),
                None,
            );
            let mut extensions = ErrorExtensionValues::default();
            extensions.set("code", "BAD_USER_INPUT");
            error.extensions = Some(extensions);
            return Err(error);
        }
        next.run(ctx, query, variables).await
    }
}

/// Fields in the largest operation with every spread expanded, saturating
/// just past `cap`. A spread of a fragment that is part of a cycle or
/// unknown counts as nothing: validation reports those properly.
#[must_use]
pub fn expanded_fields(document: &ExecutableDocument, cap: usize) -> usize {
    let mut counter = Counter {
        fragments: &document.fragments,
        memo: HashMap::new(),
        cap: cap.saturating_add(1),
    };
    document
        .operations
        .iter()
        .map(|(_, op)| counter.selection_set(&op.node.selection_set.node))
        .max()
        .unwrap_or(0)
}

struct Counter<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// `None` while a fragment is being counted (a cycle if met again).
    memo: HashMap<&'a str, Option<usize>>,
    cap: usize,
}

impl<'a> Counter<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> usize {
        let mut total = 0usize;
        for item in &set.items {
            let n = match &item.node {
                Selection::Field(field) => 1 + self.selection_set(&field.node.selection_set.node),
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            };
            total = total.saturating_add(n).min(self.cap);
        }
        total
    }

    fn fragment(&mut self, name: &'a str) -> usize {
        match self.memo.get(name) {
            Some(Some(n)) => return *n,
            Some(None) => return 0,
            None => {}
        }
        let Some(definition) = self.fragments.get(name) else {
            return 0;
        };
        self.memo.insert(name, None);
        let n = self.selection_set(&definition.node.selection_set.node);
        self.memo.insert(name, Some(n));
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bomb(levels: usize) -> String {
        let mut doc = String::from("query { ...F0 } ");
        for i in 0..levels {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{} ...F{} }} ",
                i + 1,
                i + 1
            ));
        }
        doc.push_str(&format!(
            "fragment F{levels} on Query {{ concerts {{ id }} }}"
        ));
        doc
    }

    #[test]
    fn a_fragment_bomb_is_counted_in_linear_time() {
        let doc = parse_query(bomb(60)).unwrap();
        let started = std::time::Instant::now();
        assert!(expanded_fields(&doc, 1000) > 1000);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let small = parse_query(bomb(3)).unwrap();
        assert_eq!(
            expanded_fields(&small, 1000),
            16,
            "8 copies of concerts {{ id }}"
        );
    }

    #[test]
    fn cycles_and_unknown_fragments_count_as_nothing() {
        let doc = parse_query(
            "query { ...A ...Missing } fragment A on Query { x ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        assert_eq!(expanded_fields(&doc, 1000), 1);
    }
}

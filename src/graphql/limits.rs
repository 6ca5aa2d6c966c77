//! A guard in front of async-graphql's validation: the size of a document
//! once its fragment spreads are expanded. And a cache of the documents
//! that passed it.
//!
//! async-graphql's recursion-depth check and validation walk fragment
//! spreads without memoizing, so a "fragment bomb" (each fragment spreading
//! the next one twice) costs 2^n before any limit refuses it: 20 levels
//! took 30 s of CPU in a debug build. They walk every operation of the
//! document so, and every selection in it, fields or not. Counting the
//! expanded size here, all operations together, once per fragment, is
//! linear in the document and runs before either.
//!
//! Clients send the same few documents over and over; one that passed is
//! kept by its text, and the next request that sends it is handed a copy
//! of the parse (async-graphql's own checks still run on it).
//!
//! This runs before the schema, not as one of its extensions: with any
//! extension installed, async-graphql resolves every field and every list
//! item through the extensions' chain (a boxed future and a look-up of the
//! field's type each), which cost a seat list of 50 seats more than the
//! parse this saves (BENCHMARKS.md, twenty-sixth session).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, ServerError};

/// The expansion limit, and the documents that passed it; cheap to clone
/// (every clone shares the kept documents).
#[derive(Clone)]
pub struct Documents {
    max_selections: usize,
    passed: Arc<Passed>,
}

impl Documents {
    #[must_use]
    pub fn new(max_selections: usize) -> Self {
        Self {
            max_selections,
            passed: Arc::default(),
        }
    }

    /// `request` with its document parsed, or the error that refuses it,
    /// to be answered as the schema's own errors are (uncoded, so
    /// `error::label_uncoded` codes it `BAD_USER_INPUT` on every
    /// transport). A document that does not parse is left to
    /// async-graphql, which reports the syntax error its own way.
    ///
    /// # Errors
    /// When the document expands to more selections than the limit.
    pub fn prepare(&self, mut request: Request) -> Result<Request, ServerError> {
        if let Some(document) = self.passed.get(&request.query) {
            request.set_parsed_query(document);
            return Ok(request);
        }
        let Ok(document) = parse_query(&request.query) else {
            return Ok(request);
        };
        if expanded_selections(&document, self.max_selections) > self.max_selections {
            return Err(ServerError::new(
                format!(
                    "the query expands to more than {} selections",
                    self.max_selections
                ),
                None,
            ));
        }
        self.passed.insert(&request.query, &document);
        request.set_parsed_query(document);
        Ok(request)
    }
}

/// Longest document kept, in bytes; the app's own are a few hundred.
const MAX_KEPT_LEN: usize = 2048;
/// Documents per generation: a document unused for a whole generation is
/// dropped with the older one, so at most twice this many are kept.
const GENERATION: usize = 128;

/// Documents that passed the expansion limit, by their text, in two
/// generations: a least-recently-used cache in spirit, bounded whatever
/// stream of distinct documents arrives.
#[derive(Default)]
struct Passed(Mutex<Generations>);

#[derive(Default)]
struct Generations {
    young: HashMap<String, ExecutableDocument>,
    old: HashMap<String, ExecutableDocument>,
}

impl Passed {
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(document) = kept.young.get(query) {
            return Some(document.clone());
        }
        let (text, document) = kept.old.remove_entry(query)?;
        let copy = document.clone();
        kept.keep(text, document);
        Some(copy)
    }

    fn insert(&self, query: &str, document: &ExecutableDocument) {
        if query.len() <= MAX_KEPT_LEN {
            let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            kept.keep(query.to_owned(), document.clone());
        }
    }
}

impl Generations {
    fn keep(&mut self, query: String, document: ExecutableDocument) {
        if self.young.len() >= GENERATION {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(query, document);
    }
}

/// Selections (fields, spreads and inline fragments) in all the document's
/// operations together, with every spread expanded, saturating just past
/// `cap`. A spread of a fragment that is part of a cycle or unknown counts
/// as itself alone: validation reports those properly.
#[must_use]
pub fn expanded_selections(document: &ExecutableDocument, cap: usize) -> usize {
    let mut counter = Counter {
        fragments: &document.fragments,
        memo: HashMap::new(),
        cap: cap.saturating_add(1),
    };
    document.operations.iter().fold(0usize, |total, (_, op)| {
        total
            .saturating_add(counter.selection_set(&op.node.selection_set.node))
            .min(counter.cap)
    })
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
            let inner = match &item.node {
                Selection::Field(field) => self.selection_set(&field.node.selection_set.node),
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            };
            total = total.saturating_add(1).saturating_add(inner).min(self.cap);
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
        assert!(expanded_selections(&doc, 1000) > 1000);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let small = parse_query(bomb(3)).unwrap();
        assert_eq!(
            expanded_selections(&small, 1000),
            16 + 15,
            "8 copies of concerts {{ id }}, and 1 + 2 + 4 + 8 spreads"
        );
    }

    #[test]
    fn every_operation_and_every_selection_counts() {
        // Each operation alone is small; validation walks them all.
        let mut doc = String::from("fragment F on Query { concerts { id } } ");
        for i in 0..400 {
            doc.push_str(&format!("query q{i} {{ ...F }} "));
        }
        assert!(expanded_selections(&parse_query(&doc).unwrap(), 1000) > 1000);
        // Inline fragments nested deep around a single field.
        let nested = format!(
            "{{ {} __typename {} }}",
            "... { ".repeat(20),
            "}".repeat(20)
        );
        assert_eq!(
            expanded_selections(&parse_query(&nested).unwrap(), 1000),
            21
        );
    }

    #[test]
    fn a_document_that_expands_too_far_is_refused_and_one_that_passed_is_kept() {
        let documents = Documents::new(1000);
        let refused = documents.prepare(Request::new(bomb(20)));
        assert!(refused.is_err_and(|e| e.message.contains("expands to more than 1000")));
        assert!(documents.passed.get(&bomb(20)).is_none(), "never kept");

        let query = "{ concerts { id } }";
        let mut request = documents.prepare(Request::new(query)).unwrap();
        assert!(request.parsed_query().is_ok());
        assert!(
            documents.passed.get(query).is_some(),
            "kept for the next one"
        );
        // A syntax error is left to async-graphql, unparsed and unkept.
        assert!(documents.prepare(Request::new("{ concerts {")).is_ok());
        assert!(documents.passed.get("{ concerts {").is_none());
    }

    #[test]
    fn kept_documents_stay_bounded_and_the_recently_used_survive() {
        let passed = Passed::default();
        let doc = |i: usize| format!("{{ concerts {{ id }} f{i}: concerts {{ title }} }}");
        passed.insert(
            "{ concerts { id } }",
            &parse_query("{ concerts { id } }").unwrap(),
        );
        for i in 0..10 * GENERATION {
            passed.insert(&doc(i), &parse_query(doc(i)).unwrap());
            // Used all along, so it is always promoted before it ages out.
            assert!(passed.get("{ concerts { id } }").is_some());
        }
        let kept = passed.0.lock().unwrap();
        assert!(kept.young.len() + kept.old.len() <= 2 * GENERATION);
        assert!(!kept.young.contains_key(&doc(0)) && !kept.old.contains_key(&doc(0)));
        drop(kept);
        let long = format!("{{ concerts {{ id }} }} # {}", "x".repeat(MAX_KEPT_LEN));
        passed.insert(&long, &parse_query(&long).unwrap());
        assert!(passed.get(&long).is_none(), "too long to keep");
    }

    #[test]
    fn cycles_and_unknown_fragments_count_as_their_spread_alone() {
        let doc = parse_query(
            "query { ...A ...Missing } fragment A on Query { x ...B } fragment B on Query { ...A }",
        )
        .unwrap();
        // ...A (1) + A's x (1) + ...B (1) + B's ...A (1, the cycle), and
        // ...Missing (1).
        assert_eq!(expanded_selections(&doc, 1000), 5);
    }
}

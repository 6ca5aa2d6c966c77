//! Result rows: a Markdown table on stdout and the same rows as JSON in
//! `target/bench/latest.json`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

/// A target a figure is compared with.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    fn meets(self, value: f64) -> bool {
        match self {
            Self::AtLeast(goal) => value >= goal,
            Self::AtMost(goal) => value <= goal,
        }
    }

    /// Above 1 when the figure beats the goal.
    fn ratio(self, value: f64) -> f64 {
        match self {
            Self::AtLeast(goal) => value / goal,
            Self::AtMost(goal) if value == 0.0 => f64::INFINITY * goal.signum(),
            Self::AtMost(goal) => goal / value,
        }
    }

    fn label(self) -> String {
        match self {
            Self::AtLeast(goal) => format!(">= {}", number(goal)),
            Self::AtMost(goal) => format!("<= {}", number(goal)),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub metric: String,
    pub value: f64,
    pub unit: String,
    pub goal: Option<Goal>,
    pub meets: Option<bool>,
}

/// Collects rows as scenarios produce them.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    /// Invariant checks that failed; any makes the run fail.
    violations: Vec<String>,
}

impl Report {
    /// A figure with no goal.
    pub fn figure(&mut self, scenario: &str, backend: &str, metric: &str, value: f64, unit: &str) {
        self.push(scenario, backend, metric, value, unit, None);
    }

    /// A figure compared with its goal.
    pub fn goal(
        &mut self,
        scenario: &str,
        backend: &str,
        metric: &str,
        value: f64,
        unit: &str,
        goal: Goal,
    ) {
        self.push(scenario, backend, metric, value, unit, Some(goal));
    }

    fn push(
        &mut self,
        scenario: &str,
        backend: &str,
        metric: &str,
        value: f64,
        unit: &str,
        goal: Option<Goal>,
    ) {
        let row = Row {
            scenario: scenario.to_owned(),
            backend: backend.to_owned(),
            metric: metric.to_owned(),
            value,
            unit: unit.to_owned(),
            goal,
            meets: goal.map(|g| g.meets(value)),
        };
        eprintln!(
            "  {scenario}/{backend}: {metric} = {} {unit}{}",
            number(value),
            goal.map(|g| format!(" (goal {})", g.label()))
                .unwrap_or_default()
        );
        self.rows.push(row);
    }

    /// An invariant check: recorded as a 0/1 figure, and a failure fails
    /// the run.
    pub fn check(&mut self, scenario: &str, backend: &str, what: &str, holds: bool, detail: &str) {
        self.goal(
            scenario,
            backend,
            &format!("check: {what}"),
            if holds { 1.0 } else { 0.0 },
            "ok",
            Goal::AtLeast(1.0),
        );
        if !holds {
            self.violations
                .push(format!("{scenario}/{backend}: {what}: {detail}"));
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| scenario | backend | figure | value | unit | goal | ratio | meets |\n\
             | --- | --- | --- | ---: | --- | --- | ---: | --- |\n",
        );
        for r in &self.rows {
            let (goal, ratio) = match r.goal {
                Some(g) => (g.label(), format!("{:.2}", g.ratio(r.value))),
                None => (String::new(), String::new()),
            };
            let meets = match r.meets {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {goal} | {ratio} | {meets} |",
                r.scenario,
                r.backend,
                r.metric,
                number(r.value),
                r.unit
            );
        }
        out
    }

    /// Writes the rows as a JSON array.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&self.rows)?)?;
        Ok(())
    }
}

/// A figure for people: integers without decimals, small numbers with up
/// to two.
pub fn number(v: f64) -> String {
    if v.is_infinite() || v.is_nan() {
        format!("{v}")
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_compare_in_the_right_direction() {
        assert!(Goal::AtLeast(10.0).meets(10.0));
        assert!(!Goal::AtLeast(10.0).meets(9.0));
        assert!(Goal::AtMost(10.0).meets(3.0));
        assert!((Goal::AtMost(10.0).ratio(5.0) - 2.0).abs() < 1e-9);
        assert!((Goal::AtLeast(10.0).ratio(5.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_failed_check_is_a_violation() {
        let mut r = Report::default();
        r.check("flow", "sqlite", "ledger sums", false, "wallet 3");
        r.check("flow", "sqlite", "no seat sold twice", true, "");
        assert_eq!(r.violations().len(), 1);
        assert!(r.markdown().contains("**no**"));
    }
}

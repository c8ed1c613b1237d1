//! JSON rendering of an [`AnalysisReport`](crate::model::AnalysisReport).

use crate::model::AnalysisReport;

/// Pretty-printed JSON with a trailing newline.
pub fn render(report: &AnalysisReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("report types always serialise");
    s.push('\n');
    s
}

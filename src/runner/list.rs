//! `hesscale-cli list`: the method table, generated from the registry
//! ([`Method::catalogue`]), as aligned text or as JSON.

use crate::error::Result;
use crate::io::output::Output;
use crate::methods::{CostClass, Method, MethodInfo};

/// Print the table (as text, or as JSON when `as_json`).
pub fn run(as_json: bool) -> Result<()> {
    let catalogue = Method::catalogue();
    let text = if as_json {
        serde_json::to_string_pretty(&catalogue).expect("the table serialises") + "\n"
    } else {
        render_table(&catalogue)
    };
    Output::Stdout.write(text.as_bytes())
}

fn cost_label(cost: CostClass) -> &'static str {
    match cost {
        CostClass::None => "none",
        CostClass::Backward => "1 backward",
        CostClass::BackwardPerDraw => "M backward",
        CostClass::HvpPerDraw => "M HVPs",
        CostClass::BackwardPerOutput => "D backward",
        CostClass::Quadratic => "width x backward",
    }
}

/// The method table as aligned text: name, cost, stochastic, what it estimates.
pub fn render_table(methods: &[MethodInfo]) -> String {
    let name_width = methods
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(4)
        .max(6);
    let cost_width = methods
        .iter()
        .map(|m| cost_label(m.cost).len())
        .max()
        .unwrap_or(4);
    let mut text = format!(
        "{:name_width$}  {:cost_width$}  {:10}  estimates\n",
        "method", "cost", "stochastic"
    );
    for method in methods {
        text += &format!(
            "{:name_width$}  {:cost_width$}  {:10}  {}\n",
            method.name,
            cost_label(method.cost),
            if method.stochastic { "yes" } else { "no" },
            method.estimates
        );
    }
    text
}

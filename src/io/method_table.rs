//! The method table `list` prints, as aligned text.

use crate::methods::{CostClass, MethodInfo};

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

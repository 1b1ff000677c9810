//! The diagonals JSON of SPEC §6:
//! `{"methods": {"<name>": {"layers": [{"weight": [[…]], "bias": […]}, …]}, …}, "meta": {…}}`,
//! methods in the order they were asked for, floats in shortest round-trip form.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::io::problem::{layer_to_json, LayerJson};
use crate::nn::Params;

#[derive(Serialize)]
struct MethodDiagonalJson {
    layers: Vec<LayerJson>,
}

/// The diagonals of several methods (by name) as JSON text, with `meta` under its own key.
pub fn diagonals_to_json(diagonals: &[(String, Params)], meta: Value) -> String {
    let methods: Map<String, Value> = diagonals
        .iter()
        .map(|(method, diagonal)| {
            let stored = MethodDiagonalJson {
                layers: (0..diagonal.layers())
                    .map(|l| layer_to_json(diagonal, l))
                    .collect(),
            };
            (
                method.clone(),
                serde_json::to_value(stored).expect("numbers serialise"),
            )
        })
        .collect();
    let mut document = Map::new();
    document.insert("methods".to_string(), Value::Object(methods));
    document.insert("meta".to_string(), meta);
    serde_json::to_string(&Value::Object(document)).expect("numbers serialise") + "\n"
}

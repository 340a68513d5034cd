//! `ohx connection types`, and the fields of one type for `ohx connection add TYPE --help`: what
//! each type holds, so nobody has to guess OpenHEXA's field codes.

use anyhow::Result;
use serde_json::json;

use crate::domain::ConnectionType;
use crate::output;

/// The table or JSON document of every type and its fields. Needs no store.
pub fn run(json: bool) -> Result<()> {
    if json {
        let types: Vec<_> = ConnectionType::ALL
            .into_iter()
            .map(|kind| {
                let fields: Vec<_> = kind
                    .fields()
                    .iter()
                    .map(|f| {
                        json!({
                            "code": f.code,
                            "label": f.label,
                            "required": f.required,
                            "secret": f.secret,
                            "default": f.default,
                        })
                    })
                    .collect();
                json!({"type": kind.as_str(), "label": kind.label(), "fields": fields})
            })
            .collect();
        return output::json(&types);
    }
    let mut rows = Vec::new();
    for kind in ConnectionType::ALL {
        if kind == ConnectionType::Custom {
            rows.push(vec![
                kind.as_str().into(),
                "(yours)".into(),
                "".into(),
                "".into(),
                "".into(),
            ]);
        }
        for f in kind.fields() {
            rows.push(vec![
                kind.as_str().into(),
                f.code.into(),
                yes_no(f.required).into(),
                yes_no(f.secret).into(),
                f.default.unwrap_or("").into(),
            ]);
        }
    }
    output::table(&["TYPE", "FIELD", "REQUIRED", "SECRET", "DEFAULT"], rows)
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// The fields of `kind`, as `connection add KIND --help` ends with them.
pub fn help_section(kind: ConnectionType) -> String {
    if kind == ConnectionType::Custom {
        return "Fields of custom connections: the ones you declare, --set CODE=VALUE for plain \
                fields and --secret CODE[=SOURCE] for secret ones (codes: a-z, 0-9, _)."
            .into();
    }
    let mut text = format!("Fields of {} connections:\n", kind.label());
    for f in kind.fields() {
        let how = if f.secret {
            format!("--secret {}", f.code)
        } else {
            format!("--set {}=VALUE", f.code)
        };
        let mut notes = vec![if f.required { "required" } else { "optional" }];
        if f.secret {
            notes.push("secret");
        }
        let default = f
            .default
            .map(|d| format!(", default {d}"))
            .unwrap_or_default();
        text.push_str(&format!(
            "  {:<28} {} ({}{default})\n",
            how,
            f.label,
            notes.join(", ")
        ));
    }
    text
}

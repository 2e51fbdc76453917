//! The check of an invocation's option values against the command's declared options
//! (Discord "Interactions > Application Commands > Application Command Object >
//! Application Command Interaction Data Option Structure"). Pure: it answers the normalized
//! options, the command's full name (`group sub` included) and the ids to resolve, or field
//! errors (400 50035) at `data.options.{i}...` paths.
//!
//! Rules: every option given is declared at its level with the declared type; names appear
//! once; a command with subcommands (or groups) is invoked with exactly one of them; every
//! required value option is given; STRING values are strings within `min_length` and
//! `max_length` (characters), INTEGER values integers and NUMBER values numbers within
//! `min_value`/`max_value`; with `choices`, the value is one of theirs; BOOLEAN values are
//! booleans; USER, CHANNEL, ROLE and MENTIONABLE values are snowflakes (a string or a
//! number; answered as strings), resolved by the caller. ATTACHMENT values name an entry of
//! `data.attachments` by its `id` (a non-negative integer or its decimal string, as
//! Discord's client sends `0`, `1`...); the caller resolves it to the two-step upload it
//! names and answers the upload's id.

use serde_json::Value;

use crate::error::FieldErrors;
use crate::wire::{
    ApplicationCommandOptionType as O, ChannelType, ChoiceValue, CommandOption,
    InteractionDataOption, Snowflake,
};

/// An id an option names, to resolve: the option's type, the declared channel types
/// (CHANNEL), and the path for errors.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionRef {
    pub kind: O,
    pub id: Snowflake,
    pub channel_types: Option<Vec<ChannelType>>,
    pub path: String,
}

/// What a valid invocation's options give.
#[derive(Debug, Default)]
pub struct CheckedOptions {
    pub options: Vec<InteractionDataOption>,
    /// `command`, `command sub` or `command group sub`.
    pub full_name: String,
    pub refs: Vec<OptionRef>,
    /// Autocomplete: how many options were focused.
    pub focused: usize,
}

fn snowflake_of(v: &Value) -> Option<Snowflake> {
    match v {
        Value::String(s) => s.parse::<u64>().ok().map(Snowflake),
        Value::Number(n) => n.as_u64().map(Snowflake),
        _ => None,
    }
}

fn number_in(v: f64, o: &CommandOption) -> bool {
    o.min_value
        .as_ref()
        .and_then(|m| m.as_f64())
        .is_none_or(|m| v >= m)
        && o.max_value
            .as_ref()
            .and_then(|m| m.as_f64())
            .is_none_or(|m| v <= m)
}

/// Checks `given` against `declared` at `path`, appending normalized options to `out`.
fn check_level(
    declared: &[CommandOption],
    given: &[InteractionDataOption],
    path: &str,
    errs: &mut FieldErrors,
    out: &mut CheckedOptions,
    autocomplete: bool,
) -> Vec<InteractionDataOption> {
    let mut normalized = Vec::with_capacity(given.len());
    let has_subs = declared
        .iter()
        .any(|o| matches!(o.kind, O::SubCommand | O::SubCommandGroup));
    if has_subs && given.len() != 1 {
        errs.add(
            path,
            "INTERACTION_SUBCOMMAND_REQUIRED",
            "Exactly one subcommand must be given.",
        );
        return normalized;
    }
    for (i, g) in given.iter().enumerate() {
        let p = format!("{path}.{i}");
        if given[..i].iter().any(|o| o.name == g.name) {
            errs.add(
                format!("{p}.name"),
                "INTERACTION_OPTION_DUPLICATE",
                "Each option may be given once.",
            );
            continue;
        }
        let Some(d) = declared.iter().find(|d| d.name == g.name) else {
            errs.add(
                format!("{p}.name"),
                "INTERACTION_OPTION_UNKNOWN",
                format!("The command has no option \"{}\".", g.name),
            );
            continue;
        };
        if d.kind != g.kind {
            errs.add(
                format!("{p}.type"),
                "INTERACTION_OPTION_TYPE",
                format!("Option \"{}\" has type {}.", d.name, d.kind.value()),
            );
            continue;
        }
        if matches!(d.kind, O::SubCommand | O::SubCommandGroup) {
            out.full_name.push(' ');
            out.full_name.push_str(&d.name);
            let inner = check_level(
                d.options.as_deref().unwrap_or(&[]),
                g.options.as_deref().unwrap_or(&[]),
                &format!("{p}.options"),
                errs,
                out,
                autocomplete,
            );
            normalized.push(InteractionDataOption {
                name: d.name.clone(),
                kind: d.kind,
                value: None,
                options: Some(inner),
                focused: None,
            });
            continue;
        }
        let vp = format!("{p}.value");
        if autocomplete && g.focused == Some(true) {
            // The value being typed: partial, so any string or number.
            out.focused += 1;
            if d.autocomplete != Some(true) {
                errs.add(
                    format!("{p}.focused"),
                    "INTERACTION_OPTION_NOT_AUTOCOMPLETE",
                    format!("Option \"{}\" has no autocomplete.", d.name),
                );
            }
            let value = match &g.value {
                Some(v @ (Value::String(_) | Value::Number(_))) => Some(v.clone()),
                _ => {
                    errs.add(
                        &vp,
                        "INTERACTION_OPTION_VALUE",
                        "Must be a string or a number.",
                    );
                    None
                }
            };
            normalized.push(InteractionDataOption {
                name: d.name.clone(),
                kind: d.kind,
                value,
                options: None,
                focused: Some(true),
            });
            continue;
        }
        let Some(v) = g.value.clone() else {
            errs.add(&vp, "BASE_TYPE_REQUIRED", "This field is required");
            continue;
        };
        let bad = |errs: &mut FieldErrors, what: &str| {
            errs.add(&vp, "INTERACTION_OPTION_VALUE", what.to_string());
        };
        let value = match d.kind {
            O::String => match &v {
                Value::String(s) => {
                    let n = s.chars().count() as i64;
                    if d.min_length.is_some_and(|m| n < m) || d.max_length.is_some_and(|m| n > m) {
                        bad(errs, "The value's length is out of range.");
                    }
                    Some(v.clone())
                }
                _ => {
                    bad(errs, "Must be a string.");
                    None
                }
            },
            O::Integer => match v.as_i64() {
                Some(n) if v.is_i64() || v.is_u64() => {
                    if !number_in(n as f64, d) {
                        bad(errs, "The value is out of range.");
                    }
                    Some(v.clone())
                }
                _ => {
                    bad(errs, "Must be an integer.");
                    None
                }
            },
            O::Number => match v.as_f64() {
                Some(n) => {
                    if !number_in(n, d) {
                        bad(errs, "The value is out of range.");
                    }
                    Some(v.clone())
                }
                None => {
                    bad(errs, "Must be a number.");
                    None
                }
            },
            O::Boolean => {
                if !v.is_boolean() {
                    bad(errs, "Must be a boolean.");
                }
                Some(v.clone())
            }
            O::User | O::Channel | O::Role | O::Mentionable => match snowflake_of(&v) {
                Some(id) => {
                    out.refs.push(OptionRef {
                        kind: d.kind,
                        id,
                        channel_types: d.channel_types.clone(),
                        path: vp.clone(),
                    });
                    Some(Value::String(id.to_string()))
                }
                None => {
                    bad(errs, "Must be a snowflake.");
                    None
                }
            },
            O::Attachment => match snowflake_of(&v) {
                Some(id) => {
                    out.refs.push(OptionRef {
                        kind: d.kind,
                        id,
                        channel_types: None,
                        path: vp.clone(),
                    });
                    Some(Value::String(id.to_string()))
                }
                None => {
                    bad(errs, "Must name an entry of data.attachments.");
                    None
                }
            },
            _ => {
                bad(
                    errs,
                    "Hearth does not take this option type in interactions.",
                );
                None
            }
        };
        if let (Some(choices), Some(val)) = (&d.choices, &value) {
            let ok = choices.iter().any(|c| match (&c.value, val) {
                (ChoiceValue::String(a), Value::String(b)) => a == b,
                (ChoiceValue::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                _ => false,
            });
            if !ok {
                bad(errs, "The value is not one of the option's choices.");
            }
        }
        normalized.push(InteractionDataOption {
            name: d.name.clone(),
            kind: d.kind,
            value,
            options: None,
            focused: None,
        });
    }
    if !has_subs && !autocomplete {
        for d in declared {
            if d.required == Some(true) && !given.iter().any(|g| g.name == d.name) {
                errs.add(
                    path,
                    "INTERACTION_OPTION_REQUIRED",
                    format!("Option \"{}\" is required.", d.name),
                );
            }
        }
    }
    normalized
}

/// Checks the options of an invocation of the command named `name` whose declared options
/// are `declared`. Errors go under `data.options`.
pub fn check_options(
    name: &str,
    declared: &[CommandOption],
    given: &[InteractionDataOption],
    errs: &mut FieldErrors,
) -> CheckedOptions {
    let mut out = CheckedOptions {
        full_name: name.to_string(),
        ..Default::default()
    };
    out.options = check_level(declared, given, "data.options", errs, &mut out, false);
    out
}

/// Checks the options of an autocomplete interaction (type 4): as [`check_options`], but
/// exactly one option has `focused: true` (INTERACTION_AUTOCOMPLETE_FOCUSED otherwise), on
/// an option declared `autocomplete: true`, with a partial value (a string or a number);
/// required options may be missing.
pub fn check_autocomplete_options(
    name: &str,
    declared: &[CommandOption],
    given: &[InteractionDataOption],
    errs: &mut FieldErrors,
) -> CheckedOptions {
    let mut out = CheckedOptions {
        full_name: name.to_string(),
        ..Default::default()
    };
    out.options = check_level(declared, given, "data.options", errs, &mut out, true);
    if out.focused != 1 {
        errs.add(
            "data.options",
            "INTERACTION_AUTOCOMPLETE_FOCUSED",
            "Exactly one option must be focused.",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decl() -> Vec<CommandOption> {
        serde_json::from_value(json!([
            {"type": 3, "name": "text", "description": "d", "required": true, "max_length": 5},
            {"type": 4, "name": "n", "description": "d", "min_value": 1, "max_value": 10},
            {"type": 3, "name": "c", "description": "d", "choices": [{"name": "A", "value": "a"}]},
            {"type": 6, "name": "who", "description": "d"}
        ]))
        .unwrap()
    }

    fn given(v: Value) -> Vec<InteractionDataOption> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn values_are_checked_against_their_declaration() {
        let mut errs = FieldErrors::new();
        let ok = check_options(
            "cmd",
            &decl(),
            &given(json!([
                {"type": 3, "name": "text", "value": "hi"},
                {"type": 4, "name": "n", "value": 3},
                {"type": 3, "name": "c", "value": "a"},
                {"type": 6, "name": "who", "value": "42"}
            ])),
            &mut errs,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(ok.refs.len(), 1);
        assert_eq!(ok.full_name, "cmd");
        for bad in [
            json!([{"type": 3, "name": "text", "value": 5}]),
            json!([{"type": 3, "name": "text", "value": "toolong"}]),
            json!([{"type": 3, "name": "text", "value": "x"}, {"type": 4, "name": "n", "value": 11}]),
            json!([{"type": 3, "name": "text", "value": "x"}, {"type": 4, "name": "n", "value": 1.5}]),
            json!([{"type": 3, "name": "text", "value": "x"}, {"type": 3, "name": "c", "value": "b"}]),
            json!([{"type": 3, "name": "text", "value": "x"}, {"type": 6, "name": "who", "value": "me"}]),
            json!([{"type": 4, "name": "n", "value": 2}]),
            json!([{"type": 3, "name": "nope", "value": "x"}]),
            json!([{"type": 4, "name": "text", "value": 1}]),
        ] {
            let mut errs = FieldErrors::new();
            check_options("cmd", &decl(), &given(bad.clone()), &mut errs);
            assert!(!errs.is_empty(), "accepted {bad}");
        }
    }
}

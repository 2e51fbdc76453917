//! The validation of application commands (Discord "Interactions > Application Commands":
//! "Application Command Naming", "Registering a Command", the option and choice structures):
//! a request body becomes a [`CommandSpec`] or field errors (400 50035) at Discord's paths
//! (`name`, `options.0.choices.3.value`, `0.name` in a bulk overwrite). Pure functions.
//!
//! Limits (constants below): names 1-32 characters (CHAT_INPUT names and every option name
//! match `^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$` and are lowercase); descriptions
//! 1-100 (CHAT_INPUT and options), empty for USER and MESSAGE commands; at most 25 options
//! per level and 25 choices per option; choice names 1-100, string values up to 100;
//! integers and numbers within ±2^53; `min_length` 0-6000, `max_length` 1-6000; required
//! options before optional ones; unique option names per level; subcommand groups only at
//! the top, subcommands at the top or in a group, never mixed with value options; the
//! characters of names, descriptions, choice names and values of a command at most 8000
//! (the longest localization of each field counted).

use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;
use crate::permissions as perm;
use crate::wire::{
    ApplicationCommandBody, ApplicationCommandOptionType as O, ApplicationCommandType, ChannelType,
    ChoiceValue, CommandOption, Localizations,
};

/// Options per level (Discord: 25).
pub const MAX_OPTIONS: usize = 25;
/// Choices per option (Discord: 25).
pub const MAX_CHOICES: usize = 25;
/// Characters of a command's names, descriptions, choice names and values (Discord: 8000).
pub const MAX_COMMAND_CHARS: usize = 8000;
/// The largest magnitude of INTEGER and NUMBER values (Discord: 2^53).
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
/// STRING options' `min_length`/`max_length` bound (Discord: 6000).
const MAX_STRING_LENGTH: i64 = 6000;

/// The locales Discord accepts as localization keys ("Reference > Locales").
pub const LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// A validated command without its id, application, guild and version: what is stored
/// (`name` and `kind` as columns, the rest as the `body` JSON, [`StoredBody`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    pub kind: ApplicationCommandType,
    pub name: String,
    pub body: StoredBody,
}

/// The `body` column of a command: the command object's fields beyond its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBody {
    pub name_localizations: Option<Localizations>,
    pub description: String,
    pub description_localizations: Option<Localizations>,
    #[serde(default)]
    pub options: Vec<CommandOption>,
    /// A decimal permission set.
    pub default_member_permissions: Option<String>,
    /// Global commands only.
    pub dm_permission: Option<bool>,
    pub nsfw: bool,
    pub integration_types: Option<Vec<u8>>,
    pub contexts: Option<Vec<u8>>,
}

impl CommandSpec {
    /// The body of a PATCH merged over this command: what the edit asks, the rest as stored.
    pub fn merged(&self, p: ApplicationCommandBody) -> ApplicationCommandBody {
        let b = &self.body;
        ApplicationCommandBody {
            id: None,
            kind: Some(self.kind),
            name: p.name.or_else(|| Some(self.name.clone())),
            name_localizations: p
                .name_localizations
                .or_else(|| Some(b.name_localizations.clone())),
            description: p.description.or_else(|| Some(b.description.clone())),
            description_localizations: p
                .description_localizations
                .or_else(|| Some(b.description_localizations.clone())),
            options: p.options.or_else(|| Some(Some(b.options.clone()))),
            default_member_permissions: p.default_member_permissions.or_else(|| {
                Some(
                    b.default_member_permissions
                        .as_deref()
                        .and_then(|s| s.parse().ok()),
                )
            }),
            dm_permission: p.dm_permission.or(b.dm_permission),
            default_permission: None,
            integration_types: p
                .integration_types
                .or_else(|| Some(b.integration_types.clone())),
            contexts: p.contexts.or_else(|| Some(b.contexts.clone())),
            nsfw: p.nsfw.or(Some(b.nsfw)),
        }
    }
}

/// Joins a path prefix and a field (`"" + "name"`, `"0" + "name"`).
fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Whether `c` may appear in a CHAT_INPUT or option name: `-`, `_`, letters, digits,
/// Devanagari and Thai (Rust's Alphabetic and Numeric properties stand for `\p{L}` and
/// `\p{N}`).
fn name_char(c: char) -> bool {
    c == '-'
        || c == '_'
        || c.is_alphabetic()
        || c.is_numeric()
        || matches!(c, '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{0E00}'..='\u{0E7F}')
}

/// Checks a name (`strict`: the CHAT_INPUT/option rule; else 1-32 of anything) at `path`.
fn check_name(name: &str, strict: bool, path: &str, errs: &mut FieldErrors) {
    if !(1..=32).contains(&name.chars().count()) {
        errs.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        );
    } else if strict && !name.chars().all(name_char) {
        errs.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
    } else if strict && name.to_lowercase() != name {
        errs.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name must be lowercase",
        );
    }
}

/// Checks a description of 1-100 characters at `path`.
fn check_description(d: &str, path: &str, errs: &mut FieldErrors) {
    if !(1..=100).contains(&d.chars().count()) {
        errs.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
}

/// Checks the keys of a localization map and each value with `check`; the length of the
/// longest value (for the size limit).
fn check_localizations(
    l: &Option<Localizations>,
    path: &str,
    errs: &mut FieldErrors,
    check: impl Fn(&str, &str, &mut FieldErrors),
) -> usize {
    let Some(l) = l else { return 0 };
    let mut longest = 0;
    for (k, v) in l {
        let p = at(path, k);
        if !LOCALES.contains(&k.as_str()) {
            errs.add(
                p,
                "ENUM_TYPE_COERCE",
                format!("Value \"{k}\" is not a valid enum value."),
            );
        } else {
            check(v, &p, errs);
        }
        longest = longest.max(v.chars().count());
    }
    longest
}

/// Where a list of options sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    InGroup,
    InSubcommand,
}

fn is_sub(k: O) -> bool {
    matches!(k, O::SubCommand | O::SubCommandGroup)
}

fn in_safe_range(n: &serde_json::Number) -> bool {
    n.as_f64().is_some_and(|f| f.abs() <= MAX_SAFE)
}

/// Checks and normalizes (`false` flags and empty lists dropped) a list of options at
/// `path`; adds the characters they count to `size`.
fn check_options(
    opts: &mut [CommandOption],
    level: Level,
    path: &str,
    errs: &mut FieldErrors,
    size: &mut usize,
) {
    if opts.len() > MAX_OPTIONS {
        errs.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {MAX_OPTIONS} or fewer in length."),
        );
        return;
    }
    if opts.iter().any(|o| is_sub(o.kind)) && opts.iter().any(|o| !is_sub(o.kind)) {
        errs.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands and subcommand groups cannot be mixed with other options.",
        );
    }
    let mut names: Vec<String> = vec![];
    let mut optional_seen = false;
    for (i, o) in opts.iter_mut().enumerate() {
        let p = at(path, &i.to_string());
        check_name(&o.name, true, &at(&p, "name"), errs);
        if names.contains(&o.name) {
            errs.add(
                at(&p, "name"),
                "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                "Option names must be unique",
            );
        }
        names.push(o.name.clone());
        check_description(&o.description, &at(&p, "description"), errs);
        let ln = check_localizations(
            &o.name_localizations,
            &at(&p, "name_localizations"),
            errs,
            |v, p, e| check_name(v, true, p, e),
        );
        let ld = check_localizations(
            &o.description_localizations,
            &at(&p, "description_localizations"),
            errs,
            check_description,
        );
        *size += o.name.chars().count().max(ln) + o.description.chars().count().max(ld);
        let placed = match (o.kind, level) {
            (O::SubCommandGroup, Level::Top) => true,
            (O::SubCommand, Level::Top | Level::InGroup) => true,
            (O::SubCommand | O::SubCommandGroup, _) => false,
            (O::Unknown(_), _) => {
                errs.add(
                    at(&p, "type"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.",
                );
                continue;
            }
            (_, Level::InGroup) => false,
            _ => true,
        };
        if !placed {
            errs.add(
                at(&p, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Subcommand groups hold subcommands only, subcommands hold value options only.",
            );
            continue;
        }
        if is_sub(o.kind) {
            let inner = if o.kind == O::SubCommandGroup {
                Level::InGroup
            } else {
                Level::InSubcommand
            };
            let mut children = o.options.take().unwrap_or_default();
            check_options(&mut children, inner, &at(&p, "options"), errs, size);
            *o = CommandOption {
                options: (!children.is_empty()).then_some(children),
                required: None,
                choices: None,
                channel_types: None,
                min_value: None,
                max_value: None,
                min_length: None,
                max_length: None,
                autocomplete: None,
                ..o.clone()
            };
            continue;
        }
        check_value_option(o, &p, errs, size);
        if o.required == Some(true) {
            if optional_seen {
                errs.add(
                    at(&p, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                );
            }
        } else {
            optional_seen = true;
        }
    }
}

/// Checks and normalizes one value option (types 3-11) at `p`.
fn check_value_option(o: &mut CommandOption, p: &str, errs: &mut FieldErrors, size: &mut usize) {
    let numeric = matches!(o.kind, O::Integer | O::Number);
    let choosable = numeric || o.kind == O::String;
    if o.options.as_ref().is_some_and(|v| !v.is_empty()) {
        errs.add(
            at(p, "options"),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Only subcommands and subcommand groups have options.",
        );
    }
    o.options = None;
    if o.required == Some(false) {
        o.required = None;
    }
    if o.autocomplete == Some(false) {
        o.autocomplete = None;
    }
    if o.choices.as_ref().is_some_and(Vec::is_empty) {
        o.choices = None;
    }
    if let Some(choices) = &o.choices {
        let cp = at(p, "choices");
        if !choosable {
            errs.add(
                &cp,
                "APPLICATION_COMMAND_OPTIONS_CHOICES_INVALID",
                "Only STRING, INTEGER and NUMBER options have choices.",
            );
        } else if choices.len() > MAX_CHOICES {
            errs.add(
                &cp,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_CHOICES} or fewer in length."),
            );
        } else {
            for (j, c) in choices.iter().enumerate() {
                let jp = at(&cp, &j.to_string());
                let len = |s: &str, p: &str, e: &mut FieldErrors| {
                    if !(1..=100).contains(&s.chars().count()) {
                        e.add(
                            p,
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        );
                    }
                };
                len(&c.name, &at(&jp, "name"), errs);
                let ln = check_localizations(
                    &c.name_localizations,
                    &at(&jp, "name_localizations"),
                    errs,
                    len,
                );
                *size += c.name.chars().count().max(ln);
                let vp = at(&jp, "value");
                match (&c.value, o.kind) {
                    (ChoiceValue::String(s), O::String) => {
                        *size += s.chars().count();
                        if s.chars().count() > 100 {
                            errs.add(
                                vp,
                                "BASE_TYPE_MAX_LENGTH",
                                "Must be 100 or fewer in length.",
                            );
                        }
                    }
                    (ChoiceValue::Number(n), O::Integer) if n.is_i64() && in_safe_range(n) => {}
                    (ChoiceValue::Number(n), O::Number) if in_safe_range(n) => {}
                    _ => errs.add(
                        vp,
                        "APPLICATION_COMMAND_OPTIONS_CHOICE_VALUE_INVALID",
                        "The choice value does not match the option type.",
                    ),
                }
            }
        }
    }
    if o.autocomplete == Some(true) {
        if !choosable {
            errs.add(
                at(p, "autocomplete"),
                "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_INVALID",
                "Only STRING, INTEGER and NUMBER options can autocomplete.",
            );
        } else if o.choices.is_some() {
            errs.add(
                at(p, "autocomplete"),
                "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_INVALID",
                "Autocomplete and choices are exclusive.",
            );
        }
    }
    for (field, v) in [("min_value", &o.min_value), ("max_value", &o.max_value)] {
        let Some(n) = v else { continue };
        if !numeric {
            errs.add(
                at(p, field),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only INTEGER and NUMBER options have min_value and max_value.",
            );
        } else if !in_safe_range(n) || (o.kind == O::Integer && !n.is_i64()) {
            errs.add(
                at(p, field),
                "NUMBER_TYPE_COERCE",
                "Value is not a valid number for this option type.",
            );
        }
    }
    if let (Some(a), Some(b)) = (
        o.min_value.as_ref().and_then(|n| n.as_f64()),
        o.max_value.as_ref().and_then(|n| n.as_f64()),
    ) && a > b
    {
        errs.add(
            at(p, "max_value"),
            "NUMBER_TYPE_MIN",
            "max_value must not be less than min_value.",
        );
    }
    for (field, v, lo) in [
        ("min_length", o.min_length, 0),
        ("max_length", o.max_length, 1),
    ] {
        let Some(n) = v else { continue };
        if o.kind != O::String {
            errs.add(
                at(p, field),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only STRING options have min_length and max_length.",
            );
        } else if !(lo..=MAX_STRING_LENGTH).contains(&n) {
            errs.add(
                at(p, field),
                "NUMBER_TYPE_MAX",
                format!("Must be between {lo} and {MAX_STRING_LENGTH}."),
            );
        }
    }
    if let (Some(a), Some(b)) = (o.min_length, o.max_length)
        && a > b
    {
        errs.add(
            at(p, "max_length"),
            "NUMBER_TYPE_MIN",
            "max_length must not be less than min_length.",
        );
    }
    if let Some(types) = &o.channel_types {
        if o.kind != O::Channel {
            errs.add(
                at(p, "channel_types"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only CHANNEL options have channel_types.",
            );
        } else if let Some(j) = types
            .iter()
            .position(|t| matches!(t, ChannelType::Unknown(_)))
        {
            errs.add(
                at(&at(p, "channel_types"), &j.to_string()),
                "BASE_TYPE_CHOICES",
                "Value is not a valid channel type.",
            );
        }
    }
}

/// Validates the body of a new command (or a PATCH merged with [`CommandSpec::merged`]):
/// field errors at `prefix` (`""`, or the index in a bulk overwrite). `global` keeps
/// `dm_permission` (a guild command has none).
pub fn check_command(
    b: ApplicationCommandBody,
    global: bool,
    prefix: &str,
    errs: &mut FieldErrors,
) -> CommandSpec {
    let kind = b.kind.unwrap_or(ApplicationCommandType::ChatInput);
    let chat = kind == ApplicationCommandType::ChatInput;
    if !matches!(
        kind,
        ApplicationCommandType::ChatInput
            | ApplicationCommandType::User
            | ApplicationCommandType::Message
    ) {
        errs.add(
            at(prefix, "type"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2, 3}.",
        );
    }
    let name = b.name.unwrap_or_default();
    check_name(&name, chat, &at(prefix, "name"), errs);
    let description = b.description.unwrap_or_default();
    let name_localizations = b.name_localizations.flatten();
    let description_localizations = b.description_localizations.flatten();
    let mut size = 0;
    let ln = check_localizations(
        &name_localizations,
        &at(prefix, "name_localizations"),
        errs,
        |v, p, e| check_name(v, chat, p, e),
    );
    size += name.chars().count().max(ln);
    let mut options = b.options.flatten().unwrap_or_default();
    if chat {
        check_description(&description, &at(prefix, "description"), errs);
        let ld = check_localizations(
            &description_localizations,
            &at(prefix, "description_localizations"),
            errs,
            check_description,
        );
        size += description.chars().count().max(ld);
        check_options(
            &mut options,
            Level::Top,
            &at(prefix, "options"),
            errs,
            &mut size,
        );
    } else {
        if !description.is_empty() {
            errs.add(
                at(prefix, "description"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 0 or fewer in length.",
            );
        }
        if !options.is_empty() {
            errs.add(
                at(prefix, "options"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 0 or fewer in length.",
            );
        }
    }
    if size > MAX_COMMAND_CHARS {
        errs.add(
            prefix,
            "APPLICATION_COMMAND_TOO_LARGE",
            format!("Command exceeds maximum size ({MAX_COMMAND_CHARS})"),
        );
    }
    let integration_types = b.integration_types.flatten().unwrap_or_else(|| vec![0]);
    if integration_types.iter().any(|t| *t > 1) || integration_types.is_empty() {
        errs.add(
            at(prefix, "integration_types"),
            "BASE_TYPE_CHOICES",
            "Values must be one of {0, 1}.",
        );
    }
    let contexts = b.contexts.flatten();
    if contexts.as_ref().is_some_and(|c| c.iter().any(|t| *t > 2)) {
        errs.add(
            at(prefix, "contexts"),
            "BASE_TYPE_CHOICES",
            "Values must be one of {0, 1, 2}.",
        );
    }
    CommandSpec {
        kind,
        name,
        body: StoredBody {
            name_localizations,
            description: if chat { description } else { String::new() },
            description_localizations: if chat {
                description_localizations
            } else {
                None
            },
            options,
            default_member_permissions: b
                .default_member_permissions
                .flatten()
                .map(|p| (p & perm::ALL).to_string()),
            dm_permission: global.then(|| b.dm_permission.unwrap_or(true)),
            nsfw: b.nsfw.unwrap_or(false),
            integration_types: Some(integration_types),
            contexts,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: serde_json::Value) -> FieldErrors {
        let mut errs = FieldErrors::new();
        check_command(serde_json::from_value(v).unwrap(), true, "", &mut errs);
        errs
    }

    fn paths(e: &FieldErrors) -> Vec<String> {
        e.0.iter().map(|(p, _, _)| p.clone()).collect()
    }

    #[test]
    fn names_follow_discords_rule() {
        assert!(check(json!({"name": "ping", "description": "d"})).is_empty());
        assert!(check(json!({"name": "नमस्ते", "description": "d"})).is_empty());
        assert!(check(json!({"name": "สวัสดี", "description": "d"})).is_empty());
        assert_eq!(
            paths(&check(json!({"name": "Ping", "description": "d"}))),
            ["name"]
        );
        assert_eq!(
            paths(&check(json!({"name": "a b", "description": "d"}))),
            ["name"]
        );
        assert_eq!(
            paths(&check(json!({"name": "", "description": "d"}))),
            ["name"]
        );
        let long = "a".repeat(33);
        assert_eq!(
            paths(&check(json!({"name": long, "description": "d"}))),
            ["name"]
        );
        // Context-menu names may have capitals and spaces, and no description.
        assert!(check(json!({"type": 2, "name": "Show Profile"})).is_empty());
        assert_eq!(
            paths(&check(
                json!({"type": 3, "name": "Quote", "description": "x"})
            )),
            ["description"]
        );
    }

    #[test]
    fn options_nest_and_order() {
        let ok = json!({"name": "cfg", "description": "d", "options": [
            {"type": 2, "name": "grp", "description": "d", "options": [
                {"type": 1, "name": "set", "description": "d", "options": [
                    {"type": 3, "name": "key", "description": "d", "required": true,
                     "choices": [{"name": "A", "value": "a"}]},
                    {"type": 4, "name": "n", "description": "d", "min_value": -5, "max_value": 5},
                    {"type": 7, "name": "c", "description": "d", "channel_types": [0, 2]}
                ]}
            ]}
        ]});
        assert!(check(ok).is_empty());
        let bad = json!({"name": "x", "description": "d", "options": [
            {"type": 3, "name": "a", "description": "d"},
            {"type": 3, "name": "b", "description": "d", "required": true},
            {"type": 3, "name": "a", "description": "d", "min_value": 1},
            {"type": 4, "name": "i", "description": "d", "choices": [{"name": "x", "value": 1.5}]},
            {"type": 1, "name": "s", "description": "d"}
        ]});
        let p = paths(&check(bad));
        for want in [
            "options",
            "options.1.required",
            "options.2.name",
            "options.2.min_value",
            "options.3.choices.0.value",
        ] {
            assert!(p.contains(&want.to_string()), "{want} missing in {p:?}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let choices: Vec<_> = (0..26)
            .map(|i| json!({"name": format!("c{i}"), "value": i}))
            .collect();
        let e = check(json!({"name": "x", "description": "d", "options": [
            {"type": 4, "name": "n", "description": "d", "choices": choices}]}));
        assert_eq!(paths(&e), ["options.0.choices"]);
        let options: Vec<_> = (0..26)
            .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "d"}))
            .collect();
        assert_eq!(
            paths(&check(
                json!({"name": "x", "description": "d", "options": options})
            )),
            ["options"]
        );
        // 25 options with 25 choices of 100-character values exceed 8000 characters.
        let choices: Vec<_> = (0..25)
            .map(|i| json!({"name": format!("c{i}"), "value": "v".repeat(100)}))
            .collect();
        let options: Vec<_> = (0..25)
            .map(|i| json!({"type": 3, "name": format!("o{i}"), "description": "d", "choices": choices}))
            .collect();
        assert_eq!(
            paths(&check(
                json!({"name": "x", "description": "d", "options": options})
            )),
            [""]
        );
    }
}

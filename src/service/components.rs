//! Message components and modals (Discord "Components > Using Message Components",
//! "Components > Component Reference", "Interactions > Receiving and Responding >
//! Interaction Response Object > Modal"). Pure checks; errors are 400 50035 field errors
//! at `{path}.{i}.components.{j}...` as Discord reports them.
//!
//! A message holds up to 5 action rows (type 1; anything else at the top: UNION_TYPE_CHOICES
//! "Value of field \"type\" must be one of (1,)."); a row holds 1 to 5 buttons or exactly
//! one select (COMPONENT_LAYOUT_WIDTH_EXCEEDED otherwise). Buttons: `style` 1-5 (6 premium:
//! refused, Hearth has no SKUs); styles 1-4 need a `custom_id` and no `url`; 5 (link) needs
//! a `url` (http, https or discord scheme, up to 512 characters) and no `custom_id`; a
//! `label` (up to 80 characters) or an `emoji`. Selects (3 string, 5 user, 6 role, 7
//! mentionable, 8 channel): a `custom_id`, `placeholder` up to 150, `min_values` 0-25
//! (default 1), `max_values` 1-25 (default 1) and not below `min_values`; string selects 1
//! to 25 `options` (`label`, `value`, `description` up to 100, values unique, at least
//! `min_values` of them); `channel_types` on channel selects only; `default_values` on
//! user, role, mentionable and channel selects only (SELECT_COMPONENT_DEFAULT_VALUES_NOT_ALLOWED
//! on a string select): `[{id, type}]`, `id` a snowflake, `type` `"user"`, `"role"` or
//! `"channel"` as the select takes (mentionable: user or role; BASE_TYPE_CHOICES at
//! `default_values.{k}.type`), between `min_values` and `max_values` of them
//! (BASE_TYPE_BAD_LENGTH). `custom_id`s are 1 to 100 characters and unique within the
//! message (COMPONENT_CUSTOM_ID_DUPLICATED). Emojis (buttons, select options) are unicode
//! (`{name}`) or custom (`{id, name, animated}` with a non-zero snowflake `id`). Text
//! inputs (4) only in modals.
//!
//! Every component (rows and their children, in messages and modals) may carry an `id`, an
//! integer 1 to 2147483647 (NUMBER_TYPE_MIN / NUMBER_TYPE_MAX at `...id`; 0 or absent: the
//! server gives one), unique within the message or modal (COMPONENT_ID_DUPLICATED at the
//! second one's `id`). Stored and ephemeral messages get the missing ids
//! ([`with_ids`]), never one the sender chose.
//!
//! A modal: `custom_id` (1-100) and `title` (1-45) required, 1 to 5 action rows each
//! holding one text input: `custom_id` (unique), `style` 1 short or 2 paragraph, `label`
//! (1-45), `min_length` 0-4000, `max_length` 1-4000 (not below `min_length`),
//! `placeholder` up to 100, `value` up to 4000, `required` (default true).

use crate::error::FieldErrors;
use crate::wire::{Component, ModalCallbackData};

/// ACTION_ROW.
pub const ACTION_ROW: u8 = 1;
/// BUTTON.
pub const BUTTON: u8 = 2;
/// STRING_SELECT.
pub const STRING_SELECT: u8 = 3;
/// TEXT_INPUT.
pub const TEXT_INPUT: u8 = 4;
/// USER_SELECT.
pub const USER_SELECT: u8 = 5;
/// ROLE_SELECT.
pub const ROLE_SELECT: u8 = 6;
/// MENTIONABLE_SELECT.
pub const MENTIONABLE_SELECT: u8 = 7;
/// CHANNEL_SELECT.
pub const CHANNEL_SELECT: u8 = 8;
/// Link buttons' style.
pub const LINK: u8 = 5;

/// Whether `kind` is a select menu.
pub fn is_select(kind: u8) -> bool {
    matches!(
        kind,
        STRING_SELECT | USER_SELECT | ROLE_SELECT | MENTIONABLE_SELECT | CHANNEL_SELECT
    )
}

/// The components of a stored message (its `components` column).
pub fn components_of(json: Option<&str>) -> Vec<Component> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// The components of a message with every missing `id` (absent or 0) given as Discord
/// gives them: counting from 1 in the order they appear (each action row before its
/// children), skipping every id the sender chose (so a given id never collides).
pub fn with_ids(list: &[Component]) -> Vec<Component> {
    let mut list = list.to_vec();
    let mut used = std::collections::HashSet::new();
    for c in &list {
        used.extend(c.id.filter(|i| *i > 0));
        for child in c.components.iter().flatten() {
            used.extend(child.id.filter(|i| *i > 0));
        }
    }
    let mut next = 0i64;
    let mut give = |id: &mut Option<i64>| {
        if id.is_none_or(|i| i <= 0) {
            next += 1;
            while used.contains(&next) {
                next += 1;
            }
            *id = Some(next);
        }
    };
    for row in &mut list {
        give(&mut row.id);
        for child in row.components.iter_mut().flatten() {
            give(&mut child.id);
        }
    }
    list
}

/// The stored column of a message's components: `None` for none; ids as [`with_ids`].
pub fn stored_components(list: &[Component]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    serde_json::to_string(&with_ids(list)).ok()
}

/// The largest component `id`.
pub const MAX_COMPONENT_ID: i64 = 2_147_483_647;

/// Checks the `id`s of `list` (rows at `{path}.{i}`, children at
/// `{path}.{i}.components.{j}`): 0 to [`MAX_COMPONENT_ID`], the non-zero ones unique.
fn check_ids(list: &[Component], path: &str, errs: &mut FieldErrors) {
    let mut seen = std::collections::HashSet::new();
    let mut one = |id: Option<i64>, p: String, errs: &mut FieldErrors| {
        let Some(id) = id else { return };
        if !(0..=MAX_COMPONENT_ID).contains(&id) {
            in_range(errs, format!("{p}.id"), Some(id), 0, MAX_COMPONENT_ID);
        } else if id > 0 && !seen.insert(id) {
            errs.add(
                format!("{p}.id"),
                "COMPONENT_ID_DUPLICATED",
                "Component id cannot be duplicated",
            );
        }
    };
    for (i, row) in list.iter().enumerate() {
        let rp = format!("{path}.{i}");
        one(row.id, rp.clone(), errs);
        for (j, c) in row.components.iter().flatten().enumerate() {
            one(c.id, format!("{rp}.components.{j}"), errs);
        }
    }
}

/// The interactive component of `list` (buttons that are not links, selects) with
/// `custom_id`.
pub fn find<'a>(list: &'a [Component], custom_id: &str) -> Option<&'a Component> {
    list.iter()
        .flat_map(|row| row.components.iter().flatten())
        .find(|c| c.custom_id.as_deref() == Some(custom_id))
}

fn len(s: &str) -> usize {
    s.chars().count()
}

fn max_len(errs: &mut FieldErrors, path: String, s: Option<&str>, max: usize) {
    if s.is_some_and(|s| len(s) > max) {
        errs.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        );
    }
}

fn bad_length(errs: &mut FieldErrors, path: String, min: usize, max: usize) {
    errs.add(
        path,
        "BASE_TYPE_BAD_LENGTH",
        format!("Must be between {min} and {max} in length."),
    );
}

fn required(errs: &mut FieldErrors, path: String) {
    errs.add(path, "BASE_TYPE_REQUIRED", "This field is required");
}

fn in_range(errs: &mut FieldErrors, path: String, v: Option<i64>, min: i64, max: i64) {
    match v {
        Some(n) if n < min => errs.add(
            path,
            "NUMBER_TYPE_MIN",
            format!("int value should be greater than or equal to {min}."),
        ),
        Some(n) if n > max => errs.add(
            path,
            "NUMBER_TYPE_MAX",
            format!("int value should be less than or equal to {max}."),
        ),
        _ => {}
    }
}

/// A `custom_id`: required, 1-100 characters, unique among `seen`.
fn custom_id(c: &Component, p: &str, seen: &mut Vec<String>, errs: &mut FieldErrors) {
    let path = format!("{p}.custom_id");
    match c.custom_id.as_deref() {
        None => required(errs, path),
        Some(id) if id.is_empty() || len(id) > 100 => bad_length(errs, path, 1, 100),
        Some(id) if seen.iter().any(|s| s == id) => errs.add(
            path,
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        ),
        Some(id) => seen.push(id.to_string()),
    }
}

fn emoji(e: Option<&crate::wire::Emoji>, p: &str, errs: &mut FieldErrors) {
    let Some(e) = e else { return };
    match e.id {
        Some(id) if id.0 == 0 => errs.add(
            format!("{p}.emoji.id"),
            "SNOWFLAKE_TYPE_INVALID",
            "Value \"0\" is not snowflake.",
        ),
        Some(_) => {}
        None if e.name.as_deref().is_none_or(str::is_empty) => {
            required(errs, format!("{p}.emoji.name"))
        }
        None => {}
    }
}

/// The `type`s of `default_values` a select of `kind` takes.
fn default_value_types(kind: u8) -> &'static [&'static str] {
    match kind {
        USER_SELECT => &["user"],
        ROLE_SELECT => &["role"],
        MENTIONABLE_SELECT => &["user", "role"],
        CHANNEL_SELECT => &["channel"],
        _ => &[],
    }
}

/// A select's `default_values` (see the module docs); `min`/`max`: its value counts.
fn default_values(c: &Component, p: &str, min: i64, max: i64, errs: &mut FieldErrors) {
    let Some(list) = c.default_values.as_deref() else {
        return;
    };
    let types = default_value_types(c.kind);
    if types.is_empty() {
        errs.add(
            format!("{p}.default_values"),
            "SELECT_COMPONENT_DEFAULT_VALUES_NOT_ALLOWED",
            "Only user, role, mentionable and channel selects take default_values.",
        );
        return;
    }
    let n = list.len() as i64;
    if n < min || n > max {
        bad_length(
            errs,
            format!("{p}.default_values"),
            min.max(0) as usize,
            max.max(0) as usize,
        );
    }
    for (k, v) in list.iter().enumerate() {
        if !types.contains(&v.kind.as_str()) {
            errs.add(
                format!("{p}.default_values.{k}.type"),
                "BASE_TYPE_CHOICES",
                format!("Value must be one of {{{}}}.", types.join(", ")),
            );
        }
        if v.id.0 == 0 {
            errs.add(
                format!("{p}.default_values.{k}.id"),
                "SNOWFLAKE_TYPE_INVALID",
                "Value \"0\" is not snowflake.",
            );
        }
    }
}

fn check_button(
    c: &Component,
    p: &str,
    interactive: bool,
    seen: &mut Vec<String>,
    errs: &mut FieldErrors,
) {
    let style = c.style.unwrap_or(0);
    if !(1..=6).contains(&style) {
        errs.add(
            format!("{p}.style"),
            "BASE_TYPE_CHOICES",
            "Value must be one of {1, 2, 3, 4, 5, 6}.",
        );
        return;
    }
    if style == 6 {
        errs.add(
            format!("{p}.style"),
            "BUTTON_COMPONENT_PREMIUM_UNSUPPORTED",
            "Hearth has no SKUs: premium buttons are not supported.",
        );
        return;
    }
    max_len(errs, format!("{p}.label"), c.label.as_deref(), 80);
    emoji(c.emoji.as_ref(), p, errs);
    if c.label.as_deref().is_none_or(str::is_empty) && c.emoji.is_none() {
        errs.add(
            format!("{p}.label"),
            "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
            "A button needs a label or an emoji.",
        );
    }
    if style == LINK {
        match c.url.as_deref() {
            None => required(errs, format!("{p}.url")),
            Some(u) if len(u) > 512 => max_len(errs, format!("{p}.url"), Some(u), 512),
            Some(u)
                if !["http://", "https://", "discord://"]
                    .iter()
                    .any(|s| u.starts_with(s)) =>
            {
                errs.add(
                    format!("{p}.url"),
                    "URL_TYPE_INVALID_SCHEME",
                    "Scheme must be one of ('http', 'https', 'discord').",
                )
            }
            _ => {}
        }
        if c.custom_id.is_some() {
            errs.add(
                format!("{p}.custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A link button cannot have a custom id.",
            );
        }
        return;
    }
    if !interactive {
        errs.add(
            format!("{p}.style"),
            "COMPONENT_INTERACTIVE_NOT_ALLOWED",
            "Only link buttons can be sent by a webhook no application owns.",
        );
        return;
    }
    if c.url.is_some() {
        errs.add(
            format!("{p}.url"),
            "BUTTON_COMPONENT_URL_NOT_ALLOWED",
            "Only link buttons can have a url.",
        );
    }
    custom_id(c, p, seen, errs);
}

fn check_select(
    c: &Component,
    p: &str,
    interactive: bool,
    seen: &mut Vec<String>,
    errs: &mut FieldErrors,
) {
    if !interactive {
        errs.add(
            format!("{p}.type"),
            "COMPONENT_INTERACTIVE_NOT_ALLOWED",
            "Only link buttons can be sent by a webhook no application owns.",
        );
        return;
    }
    custom_id(c, p, seen, errs);
    max_len(
        errs,
        format!("{p}.placeholder"),
        c.placeholder.as_deref(),
        150,
    );
    in_range(errs, format!("{p}.min_values"), c.min_values, 0, 25);
    in_range(errs, format!("{p}.max_values"), c.max_values, 1, 25);
    let (min, max) = (c.min_values.unwrap_or(1), c.max_values.unwrap_or(1));
    if min > max && (0..=25).contains(&min) && (1..=25).contains(&max) {
        errs.add(
            format!("{p}.min_values"),
            "SELECT_COMPONENT_MIN_VALUES_EXCEEDS_MAX",
            "min_values cannot be greater than max_values.",
        );
    }
    if (0..=25).contains(&min) && (1..=25).contains(&max) {
        default_values(c, p, min, max, errs);
    }
    if c.channel_types.is_some() && c.kind != CHANNEL_SELECT {
        errs.add(
            format!("{p}.channel_types"),
            "SELECT_COMPONENT_CHANNEL_TYPES_NOT_ALLOWED",
            "Only channel selects take channel_types.",
        );
    }
    if c.kind != STRING_SELECT {
        if c.options.is_some() {
            errs.add(
                format!("{p}.options"),
                "SELECT_COMPONENT_OPTIONS_NOT_ALLOWED",
                "Only string selects take options.",
            );
        }
        return;
    }
    let Some(options) = c.options.as_deref() else {
        required(errs, format!("{p}.options"));
        return;
    };
    if options.is_empty() || options.len() > 25 {
        bad_length(errs, format!("{p}.options"), 1, 25);
        return;
    }
    for (k, o) in options.iter().enumerate() {
        let op = format!("{p}.options.{k}");
        if o.label.is_empty() || len(&o.label) > 100 {
            bad_length(errs, format!("{op}.label"), 1, 100);
        }
        if o.value.is_empty() || len(&o.value) > 100 {
            bad_length(errs, format!("{op}.value"), 1, 100);
        } else if options[..k].iter().any(|x| x.value == o.value) {
            errs.add(
                format!("{op}.value"),
                "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                "Select option values cannot be duplicated",
            );
        }
        max_len(
            errs,
            format!("{op}.description"),
            o.description.as_deref(),
            100,
        );
        emoji(o.emoji.as_ref(), &op, errs);
    }
    if (0..=25).contains(&min) && (options.len() as i64) < min {
        errs.add(
            format!("{p}.min_values"),
            "SELECT_COMPONENT_MIN_VALUES_EXCEEDS_OPTIONS",
            "min_values cannot be greater than the number of options.",
        );
    }
}

/// Checks a message's `components` at `path` (see the module docs). `interactive`: whether
/// buttons with a `custom_id` and selects are allowed (not for webhooks no application
/// owns).
pub fn check_message_components(
    list: &[Component],
    path: &str,
    interactive: bool,
    errs: &mut FieldErrors,
) {
    if list.len() > 5 {
        errs.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 5 or fewer in length.",
        );
        return;
    }
    check_ids(list, path, errs);
    let mut seen = Vec::new();
    for (i, row) in list.iter().enumerate() {
        let rp = format!("{path}.{i}");
        if row.kind != ACTION_ROW {
            errs.add(
                rp,
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            );
            continue;
        }
        let children = row.components.as_deref().unwrap_or(&[]);
        if children.is_empty() || children.len() > 5 {
            bad_length(errs, format!("{rp}.components"), 1, 5);
            continue;
        }
        let selects = children.iter().filter(|c| is_select(c.kind)).count();
        if selects > 0 && children.len() > 1 {
            errs.add(
                format!("{rp}.components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            );
            continue;
        }
        for (j, c) in children.iter().enumerate() {
            let p = format!("{rp}.components.{j}");
            match c.kind {
                BUTTON => check_button(c, &p, interactive, &mut seen, errs),
                k if is_select(k) => check_select(c, &p, interactive, &mut seen, errs),
                _ => errs.add(
                    p,
                    "UNION_TYPE_CHOICES",
                    "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).",
                ),
            }
        }
    }
}

/// Checks the `data` of a callback 9 MODAL (see the module docs); the modal as stored and
/// sent: `(custom_id, title, components)`.
pub fn check_modal(
    d: &ModalCallbackData,
    errs: &mut FieldErrors,
) -> (String, String, Vec<Component>) {
    match d.custom_id.as_deref() {
        None => required(errs, "data.custom_id".into()),
        Some(s) if s.is_empty() || len(s) > 100 => {
            bad_length(errs, "data.custom_id".into(), 1, 100)
        }
        _ => {}
    }
    match d.title.as_deref() {
        None => required(errs, "data.title".into()),
        Some(s) if s.is_empty() || len(s) > 45 => bad_length(errs, "data.title".into(), 1, 45),
        _ => {}
    }
    let rows = d.components.as_deref().unwrap_or(&[]);
    if rows.is_empty() || rows.len() > 5 {
        bad_length(errs, "data.components".into(), 1, 5);
    }
    check_ids(rows, "data.components", errs);
    let mut seen = Vec::new();
    for (i, row) in rows.iter().enumerate().take(5) {
        let rp = format!("data.components.{i}");
        if row.kind != ACTION_ROW {
            errs.add(
                rp,
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            );
            continue;
        }
        let children = row.components.as_deref().unwrap_or(&[]);
        if children.len() != 1 {
            bad_length(errs, format!("{rp}.components"), 1, 1);
            continue;
        }
        let c = &children[0];
        let p = format!("{rp}.components.0");
        if c.kind != TEXT_INPUT {
            errs.add(
                p,
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (4,).",
            );
            continue;
        }
        custom_id(c, &p, &mut seen, errs);
        if !matches!(c.style, Some(1 | 2)) {
            errs.add(
                format!("{p}.style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            );
        }
        match c.label.as_deref() {
            None => required(errs, format!("{p}.label")),
            Some(s) if s.is_empty() || len(s) > 45 => bad_length(errs, format!("{p}.label"), 1, 45),
            _ => {}
        }
        in_range(errs, format!("{p}.min_length"), c.min_length, 0, 4000);
        in_range(errs, format!("{p}.max_length"), c.max_length, 1, 4000);
        if let (Some(a), Some(b)) = (c.min_length, c.max_length)
            && a > b
        {
            errs.add(
                format!("{p}.min_length"),
                "TEXT_INPUT_MIN_LENGTH_EXCEEDS_MAX",
                "min_length cannot be greater than max_length.",
            );
        }
        max_len(
            errs,
            format!("{p}.placeholder"),
            c.placeholder.as_deref(),
            100,
        );
        max_len(errs, format!("{p}.value"), c.value.as_deref(), 4000);
    }
    (
        d.custom_id.clone().unwrap_or_default(),
        d.title.clone().unwrap_or_default(),
        rows.to_vec(),
    )
}

/// Checks the values of a MODAL_SUBMIT (`data.components`) against the modal sent: every
/// text input given is the modal's (by `custom_id`), once; a required one (the default) is
/// given and not empty; lengths within `min_length`/`max_length` (characters, default
/// 0-4000). The rows as the bot receives them: `{type: 1, components: [{type: 4,
/// custom_id, value}]}` in the modal's order.
pub fn check_modal_submit(
    modal: &[Component],
    given: &[Component],
    errs: &mut FieldErrors,
) -> Vec<Component> {
    let inputs: Vec<(usize, usize, &Component)> = given
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.components
                .iter()
                .flatten()
                .enumerate()
                .map(move |(j, c)| (i, j, c))
        })
        .collect();
    for (n, (i, j, c)) in inputs.iter().enumerate() {
        let p = format!("data.components.{i}.components.{j}");
        let id = c.custom_id.as_deref().unwrap_or_default();
        if find(modal, id).is_none_or(|m| m.kind != TEXT_INPUT) || c.kind != TEXT_INPUT {
            errs.add(
                format!("{p}.custom_id"),
                "MODAL_SUBMIT_UNKNOWN_COMPONENT",
                "The modal has no text input with this custom id.",
            );
        } else if inputs[..n]
            .iter()
            .any(|(_, _, o)| o.custom_id.as_deref() == Some(id))
        {
            errs.add(
                format!("{p}.custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
    }
    let mut out = Vec::new();
    for (i, m) in modal
        .iter()
        .flat_map(|r| r.components.iter().flatten())
        .enumerate()
    {
        let id = m.custom_id.clone().unwrap_or_default();
        let v = inputs
            .iter()
            .find(|(_, _, c)| c.custom_id.as_deref() == Some(id.as_str()))
            .and_then(|(_, _, c)| c.value.clone())
            .unwrap_or_default();
        let n = len(&v) as i64;
        let p = format!("data.components.{i}.components.0.value");
        if m.required.unwrap_or(true) && v.is_empty() {
            required(errs, p);
        } else if !v.is_empty()
            && (n < m.min_length.unwrap_or(0) || n > m.max_length.unwrap_or(4000))
        {
            bad_length(
                errs,
                p,
                m.min_length.unwrap_or(0) as usize,
                m.max_length.unwrap_or(4000) as usize,
            );
        }
        out.push(Component {
            kind: ACTION_ROW,
            components: Some(vec![Component {
                kind: TEXT_INPUT,
                custom_id: Some(id),
                value: Some(v),
                ..Default::default()
            }]),
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: serde_json::Value, interactive: bool) -> Vec<String> {
        let list: Vec<Component> = serde_json::from_value(v).unwrap();
        let mut errs = FieldErrors::new();
        check_message_components(&list, "components", interactive, &mut errs);
        errs.0.iter().map(|(p, c, _)| format!("{p} {c}")).collect()
    }

    #[test]
    fn message_components_are_checked() {
        let button = |id: &str| json!({"type": 2, "style": 1, "label": "L", "custom_id": id});
        assert!(
            check(
                json!([{"type": 1, "components": [button("a"), button("b")]}]),
                true
            )
            .is_empty()
        );
        assert_eq!(
            check(
                json!([{"type": 1, "components": [button("a")]}, {"type": 1, "components": [button("a")]}]),
                true
            ),
            vec!["components.1.components.0.custom_id COMPONENT_CUSTOM_ID_DUPLICATED"]
        );
        assert_eq!(
            check(json!([button("a")]), true),
            vec!["components.0 UNION_TYPE_CHOICES"]
        );
        let six: Vec<_> = (0..6).map(|i| button(&format!("b{i}"))).collect();
        assert_eq!(
            check(json!([{"type": 1, "components": six}]), true),
            vec!["components.0.components BASE_TYPE_BAD_LENGTH"]
        );
        let select =
            json!({"type": 3, "custom_id": "s", "options": [{"label": "A", "value": "a"}]});
        assert_eq!(
            check(
                json!([{"type": 1, "components": [select.clone(), button("x")]}]),
                true
            ),
            vec!["components.0.components COMPONENT_LAYOUT_WIDTH_EXCEEDED"]
        );
        assert!(check(json!([{"type": 1, "components": [select.clone()]}]), true).is_empty());
        assert_eq!(
            check(json!([{"type": 1, "components": [select]}]), false),
            vec!["components.0.components.0.type COMPONENT_INTERACTIVE_NOT_ALLOWED"]
        );
        let link = json!({"type": 2, "style": 5, "label": "L", "url": "https://example.com"});
        assert!(check(json!([{"type": 1, "components": [link]}]), false).is_empty());
        assert_eq!(
            check(
                json!([{"type": 1, "components": [{"type": 2, "style": 5, "label": "L", "url": "ftp://x"}]}]),
                true
            ),
            vec!["components.0.components.0.url URL_TYPE_INVALID_SCHEME"]
        );
        assert_eq!(
            check(
                json!([{"type": 1, "components": [{"type": 3, "custom_id": "s", "max_values": 26, "options": []}]}]),
                true
            ),
            vec![
                "components.0.components.0.max_values NUMBER_TYPE_MAX",
                "components.0.components.0.options BASE_TYPE_BAD_LENGTH"
            ]
        );
    }

    #[test]
    fn modal_submits_are_checked_against_the_modal() {
        let d: ModalCallbackData = serde_json::from_value(json!({
            "custom_id": "m", "title": "T",
            "components": [{"type": 1, "components": [
                {"type": 4, "custom_id": "name", "style": 1, "label": "Name", "min_length": 2, "max_length": 5}
            ]}]
        }))
        .unwrap();
        let mut errs = FieldErrors::new();
        let (_, _, modal) = check_modal(&d, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        let submit = |v: &str| -> Vec<Component> {
            serde_json::from_value(
                json!([{"type": 1, "components": [{"type": 4, "custom_id": "name", "value": v}]}]),
            )
            .unwrap()
        };
        let mut errs = FieldErrors::new();
        let out = check_modal_submit(&modal, &submit("abc"), &mut errs);
        assert!(errs.is_empty());
        assert_eq!(
            out[0].components.as_ref().unwrap()[0].value.as_deref(),
            Some("abc")
        );
        for bad in ["", "a", "abcdef"] {
            let mut errs = FieldErrors::new();
            check_modal_submit(&modal, &submit(bad), &mut errs);
            assert!(!errs.is_empty(), "accepted {bad:?}");
        }
    }
}

//! Whether a string is one Unicode emoji (Unicode Technical Standard #51, "Emoji", §1.4
//! `emoji_zwj_sequence`, `emoji_flag_sequence`, `emoji_keycap_sequence`,
//! `emoji_modifier_sequence`, `emoji_tag_sequence`), with the `Emoji` property of the
//! `unicode-properties` crate's tables. Used where Discord takes "the unicode character of
//! the emoji" (a forum tag's `emoji_name`, a forum's `default_reaction_emoji.emoji_name`).

use unicode_properties::UnicodeEmoji;

const ZWJ: char = '\u{200D}';
const VS15: char = '\u{FE0E}';
const VS16: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';
const TAG_END: char = '\u{E007F}';

fn regional(c: char) -> bool {
    matches!(c, '\u{1F1E6}'..='\u{1F1FF}')
}

fn modifier(c: char) -> bool {
    matches!(c, '\u{1F3FB}'..='\u{1F3FF}')
}

fn tag_spec(c: char) -> bool {
    matches!(c, '\u{E0020}'..='\u{E007E}')
}

/// One element of a ZWJ sequence: an emoji character (not ASCII: digits, `#` and `*` are
/// emoji only as keycaps) with an optional presentation selector, skin-tone modifier and
/// tag sequence.
fn element(chars: &[char]) -> bool {
    let Some((&first, mut rest)) = chars.split_first() else {
        return false;
    };
    if first.is_ascii() || !first.is_emoji_char() {
        return false;
    }
    if let [VS15 | VS16, tail @ ..] = rest {
        rest = tail;
    }
    if let [m, tail @ ..] = rest
        && modifier(*m)
    {
        rest = tail;
    }
    if let [t, ..] = rest
        && tag_spec(*t)
    {
        let specs = rest.iter().take_while(|c| tag_spec(**c)).count();
        rest = &rest[specs..];
        if rest != [TAG_END] {
            return false;
        }
        rest = &[];
    }
    rest.is_empty()
}

/// Whether `s` is exactly one emoji: a pair of regional indicators (a flag), a keycap
/// (`0`-`9`, `#`, `*`, optional U+FE0F, U+20E3), or emoji elements joined by U+200D.
pub fn is_single_emoji(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [] => false,
        [a, b] if regional(*a) && regional(*b) => true,
        [k, VS16, KEYCAP] | [k, KEYCAP] => k.is_ascii_digit() || *k == '#' || *k == '*',
        all if all.iter().any(|c| regional(*c)) => false,
        all => all.split(|c| *c == ZWJ).all(element),
    }
}

#[cfg(test)]
mod tests {
    use super::is_single_emoji;

    #[test]
    fn emoji_are_told_from_text() {
        for yes in [
            "👍",
            "🔒",
            "❤️",
            "☺",
            "🏽",
            "👍🏽",
            "🇫🇷",
            "1️⃣",
            "#⃣",
            "👩‍💻",
            "👨‍👩‍👧‍👦",
            "🏴‍☠️",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        ] {
            assert!(is_single_emoji(yes), "{yes:?}");
        }
        for no in [
            "",
            "a",
            "ab",
            "1",
            "#",
            "👍👍",
            "👍 ",
            "x👍",
            "🇫",
            "🇫🇷🇫",
            "👍\u{200D}",
            "‍",
            "hello",
            "<:name:123>",
        ] {
            assert!(!is_single_emoji(no), "{no:?}");
        }
    }
}

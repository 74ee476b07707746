//! Validation of the strings a client chooses: player names and room ids.
//!
//! The server applies these rules on join; a client can apply them before sending.

use crate::limits::{MAX_NAME_CHARS, MAX_ROOM_ID_CHARS};

/// Why a player name or room id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("name is empty")]
    EmptyName,
    #[error("name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("name contains a control or invisible character")]
    NameNotPrintable,
    #[error("room id is empty")]
    EmptyRoomId,
    #[error("room id is longer than {MAX_ROOM_ID_CHARS} characters")]
    RoomIdTooLong,
    #[error("room id may only contain A-Z, a-z, 0-9, '-' and '_'")]
    RoomIdCharset,
}

/// Checks a player name and returns it trimmed of surrounding whitespace.
///
/// A name is 1..=[`MAX_NAME_CHARS`] characters after trimming, and holds no control characters
/// (C0, C1, DEL), no line or paragraph separators, and no zero-width or bidi-override characters
/// that could make one name look like another. HTML is allowed as text: clients must render names
/// as text, never as markup.
///
/// ```
/// use tickcast_shared::validate::{player_name, ValidationError};
/// assert_eq!(player_name("  Ada "), Ok("Ada".to_string()));
/// assert_eq!(player_name("a\u{7}b"), Err(ValidationError::NameNotPrintable));
/// ```
pub fn player_name(name: &str) -> Result<String, ValidationError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ValidationError::EmptyName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ValidationError::NameTooLong);
    }
    if name.chars().any(is_forbidden_in_name) {
        return Err(ValidationError::NameNotPrintable);
    }
    Ok(name.to_string())
}

fn is_forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM/RLM
                | '\u{2028}'..='\u{202E}' // line/paragraph separators, bidi embeddings/overrides
                | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
                | '\u{FEFF}' // BOM / zero-width no-break space
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        )
}

/// Checks a room id: 1..=[`MAX_ROOM_ID_CHARS`] characters of `[A-Za-z0-9_-]`, so it is safe in
/// URLs, logs and metric labels.
///
/// ```
/// use tickcast_shared::validate::room_id;
/// assert!(room_id("lobby-1").is_ok());
/// assert!(room_id("a b").is_err());
/// ```
pub fn room_id(id: &str) -> Result<(), ValidationError> {
    if id.is_empty() {
        return Err(ValidationError::EmptyRoomId);
    }
    if id.len() > MAX_ROOM_ID_CHARS {
        return Err(ValidationError::RoomIdTooLong);
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ValidationError::RoomIdCharset);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_at_the_limit_pass_and_one_over_fails() {
        let max = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(player_name(&max), Ok(max.clone()));
        assert_eq!(
            player_name(&format!("{max}x")),
            Err(ValidationError::NameTooLong)
        );
    }

    #[test]
    fn empty_and_whitespace_names_are_refused() {
        assert_eq!(player_name(""), Err(ValidationError::EmptyName));
        assert_eq!(player_name(" \t "), Err(ValidationError::EmptyName));
    }

    #[test]
    fn control_and_invisible_characters_are_refused() {
        for bad in [
            "a\nb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\u{202e}b",
            "a\u{200b}b",
            "a\u{85}b",
        ] {
            assert_eq!(
                player_name(bad),
                Err(ValidationError::NameNotPrintable),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn html_is_kept_as_text() {
        assert_eq!(player_name("<b>x</b>"), Ok("<b>x</b>".into()));
    }

    #[test]
    fn room_ids_are_url_safe() {
        assert!(room_id("Room_1-a").is_ok());
        assert_eq!(room_id(""), Err(ValidationError::EmptyRoomId));
        assert_eq!(room_id("a/b"), Err(ValidationError::RoomIdCharset));
        assert_eq!(
            room_id(&"a".repeat(MAX_ROOM_ID_CHARS + 1)),
            Err(ValidationError::RoomIdTooLong)
        );
    }
}

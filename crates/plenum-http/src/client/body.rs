//! Request bodies of the action endpoints: JSON parsed whatever the Content-Type says
//! (clients differ), unknown keys ignored (the SDK's validators strip them anyway),
//! wrong types answered 400 with the expected shape.

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use super::error::ClientError;

/// Parses `body` as `T`; an empty body reads as `{}`. `expected` describes the shape for
/// the error message (the parser's own message may echo large payloads).
pub(crate) fn parse<T: DeserializeOwned>(body: &Bytes, expected: &str) -> Result<T, ClientError> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::debug!(error = %e, "malformed client api request body");
        ClientError::BadRequest(format!("request body must be JSON like {expected}").into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Setting {
        setting: bool,
    }

    #[test]
    fn wrong_types_and_missing_keys_are_bad_requests() {
        let parse_setting =
            |s: &'static str| parse::<Setting>(&Bytes::from_static(s.as_bytes()), "{}");
        assert_eq!(
            parse_setting(r#"{"setting": true, "extra": 1}"#),
            Ok(Setting { setting: true })
        );
        assert!(matches!(
            parse_setting(r#"{"setting": "yes"}"#),
            Err(ClientError::BadRequest(_))
        ));
        assert!(matches!(parse_setting(""), Err(ClientError::BadRequest(_))));
        assert!(matches!(
            parse_setting("not json"),
            Err(ClientError::BadRequest(_))
        ));
    }
}

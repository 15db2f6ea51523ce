//! Exact tests of the provisioning `data` format.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

use super::*;

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

fn decoded(text: &str) -> Result<Vec<(&'static str, String)>, ProvisionError> {
    Settings::decode(&b64(text)).map(|s| s.iter().map(|(k, v)| (k.name(), v.to_owned())).collect())
}

fn check_err(text: &str, expected: ProvisionError) {
    assert_eq!(decoded(text), Err(expected), "data {text:?}");
}

const ADFS: &str = "adfsFederationServiceName=adfs.example.com&adfsResource=urn%3Aplenum\
    &adfsClientID=abc&adfsRedirectURI=https%3A%2F%2Fexample.com%2Fcb";

#[test]
fn every_known_key_is_read_and_values_are_percent_decoded() {
    let data = format!(
        "name=Alice%20Smith&registrationHost=video.example.com:8443&registrationAlias=alice%40example.com\
         &registrationUsername=alice&registrationPassword=p%26ss%3Dw%2Bord&brandingURL=https%3A%2F%2Fcdn.example.com%2Fb.zip&{ADFS}"
    );
    assert_eq!(
        decoded(&data).unwrap(),
        vec![
            ("name", "Alice Smith".to_owned()),
            ("registrationHost", "video.example.com:8443".to_owned()),
            ("registrationAlias", "alice@example.com".to_owned()),
            ("registrationUsername", "alice".to_owned()),
            ("registrationPassword", "p&ss=w+ord".to_owned()),
            ("brandingURL", "https://cdn.example.com/b.zip".to_owned()),
            ("adfsFederationServiceName", "adfs.example.com".to_owned()),
            ("adfsResource", "urn:plenum".to_owned()),
            ("adfsClientID", "abc".to_owned()),
            ("adfsRedirectURI", "https://example.com/cb".to_owned()),
        ]
    );
}

#[test]
fn both_alphabets_padding_escapes_and_form_spaces_are_accepted() {
    // This text encodes to base64 holding both `+` and `/` (and `=` padding).
    let text = "name=a>>>???&registrationAlias=a";
    let standard = b64(text);
    assert!(standard.contains('+') && standard.contains('/') && standard.ends_with('='));
    let expected = Settings::decode(&standard).unwrap();
    assert_eq!(expected.get(Key::Name), Some("a>>>???"));
    for variant in [
        STANDARD_NO_PAD.encode(text),
        URL_SAFE_NO_PAD.encode(text),
        base64::engine::general_purpose::URL_SAFE.encode(text),
        standard.replace('+', " "),
        standard
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D"),
    ] {
        assert_eq!(
            Settings::decode(&variant).as_ref(),
            Ok(&expected),
            "{variant}"
        );
    }
}

#[test]
fn encode_round_trips_awkward_values_and_escapes_for_a_query() {
    let mut settings = Settings::new();
    settings
        .set(Key::RegistrationPassword, "a&b=c+d%e f/ü")
        .set(Key::Name, "Zoë & co")
        .set(Key::RegistrationHost, "[2001:db8::1]:443");
    assert_eq!(Settings::decode(&settings.encode()), Ok(settings.clone()));
    let query = settings.encode_for_query();
    assert!(!query.contains(['+', '/', '=']), "{query}");
    assert_eq!(Settings::decode(&query), Ok(settings));
}

#[test]
fn debug_never_shows_the_password() {
    let mut settings = Settings::new();
    settings.set(Key::RegistrationPassword, "hunter2");
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("<hidden>"),
        "{shown}"
    );
}

#[test]
fn bad_base64_utf8_and_size_are_refused() {
    assert_eq!(
        Settings::decode("@@not*base64"),
        Err(ProvisionError::NotBase64("data"))
    );
    assert_eq!(
        Settings::decode(&STANDARD.encode([b'n', b'=', 0xff, 0xfe])),
        Err(ProvisionError::NotUtf8("data"))
    );
    let big = format!("name={}", "x".repeat(MAX_DECODED));
    assert_eq!(
        Settings::decode(&b64(&big)),
        Err(ProvisionError::TooLarge {
            param: "data",
            size: MAX_DECODED + 5,
            limit: MAX_DECODED
        })
    );
    let just_fits = format!("name={}", "x".repeat(MAX_DECODED - 5));
    assert!(Settings::decode(&b64(&just_fits)).is_ok());
    assert_eq!(Settings::decode(""), Err(ProvisionError::Empty));
}

#[test]
fn structural_errors_name_the_setting() {
    check_err(
        "name=a&colour=red&size=2&colour=blue",
        ProvisionError::UnknownKeys(vec!["colour".into(), "size".into()]),
    );
    check_err("name=a&name=b", ProvisionError::Duplicate("name"));
    check_err(
        "name=a&registrationAlias",
        ProvisionError::NoValue("registrationAlias".into()),
    );
    check_err("name=", ProvisionError::EmptyValue("name"));
    check_err("name=%ff", ProvisionError::BadValue("name"));
    check_err(
        "adfsResource=x&adfsClientID=y",
        ProvisionError::PartialAdfs(vec!["adfsFederationServiceName", "adfsRedirectURI"]),
    );
    assert!(decoded(ADFS).is_ok());
}

#[test]
fn registration_host_must_be_host_and_optional_port() {
    for good in [
        "video.example.com",
        "video.example.com.",
        "localhost:8443",
        "10.0.0.1:443",
        "[::1]",
        "[2001:db8::1]:443",
        "xn--bcher-kva.example",
    ] {
        assert!(is_host_port(good), "{good}");
    }
    for bad in [
        "https://video.example.com",
        "video.example.com/path",
        "host:0",
        "host:65536",
        "host:+1",
        "host:",
        ":443",
        "-bad.example",
        "a..b",
        "[::1",
        "[nothost]:1",
        "::1",
        "bad host",
    ] {
        assert!(!is_host_port(bad), "{bad}");
    }
    check_err(
        "registrationHost=https%3A%2F%2Fx",
        ProvisionError::BadHost("https://x".into()),
    );
}

#[test]
fn branding_url_must_be_https_or_loopback_http() {
    for good in [
        "https://cdn.example.com/brand.zip",
        "http://127.0.0.1:8080/b",
        "http://localhost/b",
        "http://[::1]/b",
    ] {
        assert!(is_branding_url(good), "{good}");
    }
    for bad in [
        "http://cdn.example.com/b",
        "ftp://127.0.0.1/b",
        "javascript:alert(1)",
        "/relative",
    ] {
        assert!(!is_branding_url(bad), "{bad}");
    }
}

#[test]
fn message_is_decoded_leniently_and_checked() {
    assert_eq!(decode_message(&b64("Hi <b>")), Ok("Hi <b>".to_owned()));
    assert_eq!(
        decode_message("%%%"),
        Err(ProvisionError::NotBase64("message"))
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn value() -> &'static str {
        // Any text with something visible in it (empty and blank values are refused).
        "\\PC{0,40}[a-zA-Z0-9&=+%/]"
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever a link holds, decoding answers a value or an error, never a panic.
        #[test]
        fn decoding_any_input_never_panics(raw in "\\PC{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Settings::decode(&raw);
            let _ = decode_message(&raw);
            let _ = Settings::decode(&STANDARD.encode(&bytes));
        }

        /// What `encode` makes, `decode` reads back exactly, in the query form too.
        #[test]
        fn encode_then_decode_gives_the_same_settings(name in value(), alias in value(), password in value()) {
            let mut settings = Settings::new();
            settings
                .set(Key::Name, name)
                .set(Key::RegistrationAlias, alias)
                .set(Key::RegistrationPassword, password);
            prop_assert_eq!(Settings::decode(&settings.encode()), Ok(settings.clone()));
            prop_assert_eq!(Settings::decode(&settings.encode_for_query()), Ok(settings));
        }
    }
}

// === fuzzing ===

/// Fuzz target `provisioning`: a link's `data` (base64 of `key=value&…`, the plain text
/// or its base64 mutated, or any text) decodes or is refused with a reason; never a
/// panic, and what decodes encodes back to the same settings.
#[test]
fn fuzz_provisioning_data() {
    let plain = format!(
        "name=Alice%20Smith&registrationHost=video.example.com&registrationAlias=alice%40example.com\
         &registrationUsername=alice&registrationPassword=s3cret&brandingURL=https%3A%2F%2Fb.example.com&{ADFS}"
    );
    let encoded = b64(&plain);
    let url_safe = URL_SAFE_NO_PAD.encode(&plain);
    let plain_seeds = [plain.as_str()];
    let encoded_seeds = [encoded.as_str(), url_safe.as_str()];
    use proptest::strategy::Strategy as _;
    let strategy = proptest::prop_oneof![
        plenum_fuzz::text_input(&plain_seeds).prop_map(|text| STANDARD_NO_PAD.encode(text)),
        plenum_fuzz::text_input(&encoded_seeds),
    ];
    plenum_fuzz::fuzz("provisioning", strategy, |data| {
        match Settings::decode(&data) {
            Ok(settings) => {
                let again = Settings::decode(&settings.encode());
                proptest::prop_assert_eq!(again.as_ref(), Ok(&settings), "round trip");
            }
            Err(error) => proptest::prop_assert!(!error.to_string().is_empty()),
        }
        let _ = decode_message(&data);
        Ok(())
    });
}

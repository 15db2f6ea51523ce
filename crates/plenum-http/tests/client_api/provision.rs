//! The provisioning page, `GET /api/client/v2/provision?data=…&message=…`: what a good
//! link shows (never the password, never the data), the 400 page for each bad link,
//! the headers and the script it loads (`tests/provision_log.rs`: the request log).

use axum::http::{Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use plenum_http::provision::page::{DEFAULT_MESSAGE, FALLBACK};
use plenum_http::provision::{Key, Settings};

use super::support::{Api, Reply};

const PASSWORD: &str = "s3cret&pw=+/";

fn settings() -> Settings {
    let mut settings = Settings::new();
    settings
        .set(Key::Name, "Alice <Smith>")
        .set(Key::RegistrationHost, "video.example.com:8443")
        .set(Key::RegistrationAlias, "alice@example.com")
        .set(Key::RegistrationUsername, "alice")
        .set(Key::RegistrationPassword, PASSWORD)
        .set(Key::BrandingUrl, "https://cdn.example.com/brand.zip");
    settings
}

async fn get(query: &str) -> Reply {
    Api::new()
        .send(Api::request(
            Method::GET,
            &format!("/api/client/v2/provision{query}"),
            &[],
            None,
        ))
        .await
}

fn text(reply: &Reply) -> &str {
    std::str::from_utf8(&reply.body).expect("the page is UTF-8")
}

fn header(reply: &Reply, name: header::HeaderName) -> &str {
    reply
        .headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn assert_private_headers(reply: &Reply) {
    assert_eq!(
        header(reply, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(reply, header::CACHE_CONTROL), "no-store");
    assert_eq!(header(reply, header::REFERRER_POLICY), "no-referrer");
    let csp = header(reply, header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn a_good_link_shows_each_setting_but_never_the_password_or_the_data() {
    let settings = settings();
    let data = settings.encode_for_query();
    let reply = get(&format!("?data={data}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", text(&reply));
    assert_private_headers(&reply);
    let page = text(&reply);
    for expected in [
        "Display name:</span> <span class=\"value\">Alice &lt;Smith&gt;</span>",
        "Registration server:</span> <span class=\"value\">video.example.com:8443</span>",
        "Registration alias:</span> <span class=\"value\">alice@example.com</span>",
        "User name:</span> <span class=\"value\">alice</span>",
        "Password:</span> <span class=\"value\">set (hidden)</span>",
        "Branding:</span> <span class=\"value\">https://cdn.example.com/brand.zip</span>",
        DEFAULT_MESSAGE,
        "Open in the app",
        "<script src=\"/api/client/v2/provision.js\" defer></script>",
    ] {
        assert!(page.contains(expected), "{expected:?} missing from\n{page}");
    }
    assert!(page.contains(&FALLBACK.replace('\'', "&#39;")), "{page}");
    for secret in [
        PASSWORD.to_owned(),
        "s3cret".to_owned(),
        data.clone(),
        settings.encode(),
        // The base64 of the password pair alone would also give it away.
        STANDARD.encode(format!("registrationPassword={PASSWORD}")),
    ] {
        assert!(!page.contains(&secret), "{secret:?} is in the page");
    }
    assert!(!page.contains("<script>"), "no inline script: {page}");
}

#[tokio::test]
async fn the_message_is_decoded_and_escaped() {
    let data = settings().encode_for_query();
    let message = STANDARD.encode("Welcome to <b>Example</b> & co");
    let reply = get(&format!("?data={data}&message={message}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = text(&reply);
    assert!(
        page.contains("<p id=\"message\">Welcome to &lt;b&gt;Example&lt;/b&gt; &amp; co</p>"),
        "{page}"
    );
    assert!(!page.contains(DEFAULT_MESSAGE));
}

#[tokio::test]
async fn url_safe_unpadded_data_and_form_spaces_work_too() {
    let settings = settings();
    let standard = settings.encode();
    for data in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(STANDARD.decode(&standard).expect("own base64")),
        standard.replace('+', " ").replace(' ', "%20"),
    ] {
        let reply = get(&format!("?data={data}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{data}: {}", text(&reply));
    }
}

#[tokio::test]
async fn each_bad_link_gets_a_400_page_that_says_why() {
    let b64 = |text: &str| STANDARD.encode(text);
    let good = settings().encode_for_query();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "The link has no `data` parameter"),
        ("?message=aGk=".into(), "The link has no `data` parameter"),
        ("?data=%%%".into(), "`data` parameter is not valid base64"),
        (
            "?data=*notbase64*".into(),
            "`data` parameter is not valid base64",
        ),
        (
            format!("?data={}", STANDARD.encode([b'n', b'=', 0xc3, 0x28])),
            "`data` parameter is not UTF-8",
        ),
        (
            format!("?data={}", b64("name=a&colour=red&registrationPin=1")),
            "Unknown settings: colour, registrationPin; known are name, registrationHost",
        ),
        (
            format!("?data={}", b64("name=a&name=b")),
            "The setting `name` appears more than once",
        ),
        (
            format!("?data={}", b64("adfsResource=r&adfsClientID=c")),
            "AD FS needs all four settings together; missing: adfsFederationServiceName, adfsRedirectURI",
        ),
        (
            format!("?data={}", b64(&format!("name={}", "x".repeat(5000)))),
            "is too large: 5005 bytes decoded, at most 4096",
        ),
        (
            format!(
                "?data={}",
                b64("registrationHost=https://video.example.com/")
            ),
            "RegistrationHost is not a host name or address with an optional port: https://video.example.com/",
        ),
        (
            format!("?data={}", b64("brandingURL=http://cdn.example.com/b.zip")),
            "BrandingURL must be an https:// address (http:// only on this machine&#39;s loopback): http://cdn.example.com/b.zip",
        ),
        (
            format!("?data={good}&message=%%%"),
            "`message` parameter is not valid base64",
        ),
    ];
    for (query, expected) in cases {
        let reply = get(&query).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            text(&reply)
        );
        assert_private_headers(&reply);
        let page = text(&reply);
        assert!(
            page.contains("<h1>This setup link can't be used</h1>"),
            "{page}"
        );
        assert!(
            page.contains(expected),
            "{query}: {expected:?} missing from\n{page}"
        );
        assert!(!page.contains("<script"), "{page}");
    }
}

#[tokio::test]
async fn the_script_and_stylesheet_are_served_from_the_node() {
    let api = Api::new();
    let script = api
        .send(Api::request(
            Method::GET,
            "/api/client/v2/provision.js",
            &[],
            None,
        ))
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        header(&script, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    let js = text(&script);
    assert!(js.contains("pexip-provision://settings/?data="), "{js}");
    assert!(js.contains("history.replaceState"), "{js}");
    let style = api
        .send(Api::request(
            Method::GET,
            "/api/client/v2/provision.css",
            &[],
            None,
        ))
        .await;
    assert_eq!(style.status, StatusCode::OK);
    assert_eq!(
        header(&style, header::CONTENT_TYPE),
        "text/css; charset=utf-8"
    );
}

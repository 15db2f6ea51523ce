//! Exact tests of the users CSV, the email template and the link plan.

use plenum_http::provision::{Key, Settings};

use super::*;
use crate::config::{DeviceSignIn, PhcHash};

fn at(line: u64, reason: &str) -> InputError {
    InputError::At {
        file: "users.csv".into(),
        line,
        reason: reason.into(),
    }
}

fn device(alias: &str, username: &str, sso: bool) -> DeviceAlias {
    let sign_in = if sso {
        DeviceSignIn::Sso {
            identity_provider: "Corp".into(),
        }
    } else {
        // The hash of "alice-password", as in config/services.toml.
        DeviceSignIn::Password(
            PhcHash::parse(
                "$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM",
            )
            .expect("a valid hash"),
        )
    };
    DeviceAlias {
        alias: alias.into(),
        username: username.into(),
        sign_in,
        description: String::new(),
    }
}

fn base() -> BaseUrl {
    BaseUrl::parse("https://video.example.com:8443/").expect("valid base URL")
}

/// The settings carried by a link made by [`plan`].
fn settings_of(link: &Link) -> Settings {
    let data = link
        .url
        .strip_prefix("https://video.example.com:8443/api/client/v2/provision?data=")
        .unwrap_or_else(|| panic!("unexpected link {}", link.url));
    Settings::decode(data).expect("a link's data decodes")
}

#[test]
fn csv_rows_are_read_with_quotes_and_optional_columns() {
    let text = "Alias,name,password,email\n\
                bob@example.com,\"Smith, Bob\",\"pa\"\"ss,word\",bob@mail.example\n\
                carol@example.com,,,\n\
                \x20dave@example.com , Dave ,\" sp ace \",\n";
    let rows = read_csv("users.csv", text).expect("valid CSV");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].alias, "bob@example.com");
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[0].name.as_deref(), Some("Smith, Bob"));
    assert_eq!(
        rows[0].password.as_ref().map(Secret::expose),
        Some("pa\"ss,word")
    );
    assert_eq!(rows[0].email.as_deref(), Some("bob@mail.example"));
    assert_eq!(rows[0].username, None);
    assert_eq!(rows[1].line, 3);
    assert_eq!(
        (rows[1].name.clone(), rows[1].password.clone()),
        (None, None)
    );
}

#[test]
fn bad_csv_rows_are_named_by_line_without_their_content() {
    let text = "alias,password,email\n\
                a@x,secret1,a@mail\n\
                ,secret2,\n\
                A@X,secret3,\n\
                b@x,secret4\n\
                c@x,secret5,not-an-email\n";
    assert_eq!(
        read_csv("users.csv", text),
        Err(vec![
            at(3, "the alias is empty"),
            at(4, "the alias \"A@X\" is already on line 2"),
            at(5, "2 fields where the header has 3"),
            at(6, "\"not-an-email\" is not an email address"),
        ])
    );
    assert_eq!(
        read_csv("users.csv", "alias,pin,alias\n"),
        Err(vec![
            at(
                1,
                "unknown column \"pin\"; the columns are alias, username, password, name, email"
            ),
            at(1, "the column \"alias\" appears twice"),
        ])
    );
    assert_eq!(
        read_csv("users.csv", "name,email\n"),
        Err(vec![at(1, "the header row has no \"alias\" column")])
    );
}

#[test]
fn templates_fill_known_placeholders_and_refuse_unknown_ones() {
    let template = Template::parse(
        "mail.txt",
        "Hello {name},\nset up {alias}: {link}\n{ not a placeholder } {} {{x\n",
    )
    .expect("valid template");
    assert_eq!(
        template.render(Fill {
            name: "Bob",
            link: "https://l",
            alias: "bob@x"
        }),
        "Hello Bob,\nset up bob@x: https://l\n{ not a placeholder } {} {{x\n"
    );
    assert_eq!(
        Template::parse("mail.txt", "Hi {name}\n\nYour {pasword} and {Link}"),
        Err(vec![
            InputError::At {
                file: "mail.txt".into(),
                line: 3,
                reason:
                    "unknown placeholder {pasword}; the placeholders are {name}, {link}, {alias}"
                        .into()
            },
            InputError::At {
                file: "mail.txt".into(),
                line: 3,
                reason: "unknown placeholder {Link}; the placeholders are {name}, {link}, {alias}"
                    .into()
            },
        ])
    );
}

#[test]
fn base_url_must_be_https_and_gives_the_registration_host() {
    let b = base();
    assert_eq!(b.as_str(), "https://video.example.com:8443");
    assert_eq!(b.host, "video.example.com:8443");
    assert_eq!(
        BaseUrl::parse("https://video.example.com").map(|b| b.host),
        Ok("video.example.com".into())
    );
    for bad in [
        "http://video.example.com",
        "video.example.com",
        "https://x/?q=1",
        "https://x/#f",
    ] {
        assert!(
            matches!(BaseUrl::parse(bad), Err(ProvisionError::BaseUrl(_))),
            "{bad}"
        );
    }
    let mut node = NodeConfig {
        public_name: "video.example.com".into(),
        ..NodeConfig::default()
    };
    node.listen = "0.0.0.0:443".parse().expect("address");
    assert_eq!(
        BaseUrl::from_node(&node).map(|b| b.to_string()),
        Ok("https://video.example.com".into())
    );
    node.listen = "0.0.0.0:8443".parse().expect("address");
    assert_eq!(
        BaseUrl::from_node(&node).map(|b| b.to_string()),
        Ok("https://video.example.com:8443".into())
    );
}

impl PartialEq for ProvisionError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

#[test]
fn plan_merges_csv_rows_with_devices_and_notes_what_is_missing() {
    let devices = [
        device("alice@example.com", "alice", false),
        device("dave@example.com", "dave", false),
        device("sso@example.com", "sso", true),
    ];
    let rows = read_csv(
        "users.csv",
        "alias,password,name,email\n\
         ALICE@example.com,alice-password,Alice,alice@mail\n\
         eve@example.com,eve-pw,Eve,\n\
         dave@example.com,wrong,,\n",
    )
    .expect("valid CSV");
    let plan = plan(&devices, &rows, &base(), |d, p| match &d.sign_in {
        DeviceSignIn::Password(hash) => hash.verify(p.expose()),
        DeviceSignIn::Sso { .. } => false,
    });
    let aliases: Vec<&str> = plan.links.iter().map(|l| l.alias.as_str()).collect();
    assert_eq!(
        aliases,
        [
            "alice@example.com",
            "eve@example.com",
            "dave@example.com",
            "sso@example.com"
        ]
    );
    let alice = settings_of(&plan.links[0]);
    let expected: Vec<(Key, &str)> = vec![
        (Key::Name, "Alice"),
        (Key::RegistrationHost, "video.example.com:8443"),
        (Key::RegistrationAlias, "alice@example.com"),
        (Key::RegistrationUsername, "alice"),
        (Key::RegistrationPassword, "alice-password"),
    ];
    assert_eq!(alice.iter().collect::<Vec<_>>(), expected);
    assert_eq!(plan.links[0].email.as_deref(), Some("alice@mail"));
    assert!(plan.links[0].has_password);
    let sso = settings_of(&plan.links[3]);
    assert_eq!(sso.get(Key::RegistrationPassword), None);
    assert_eq!(sso.get(Key::RegistrationUsername), Some("sso"));
    assert_eq!(
        plan.notes,
        [
            "CSV line 3: eve@example.com is not a [[device]] in the config; its registration is refused until it is added",
            "CSV line 4: the password for dave@example.com does not match its [[device]] password_hash; its registration would be refused",
        ]
    );
    for link in &plan.links {
        assert!(!link.url.contains("alice-password"), "{}", link.url);
    }
}

#[test]
fn devices_without_a_csv_get_links_without_passwords() {
    let devices = [device("alice@example.com", "alice", false)];
    let plan = plan(&devices, &[], &base(), |_, _| true);
    assert_eq!(plan.links.len(), 1);
    assert!(!plan.links[0].has_password);
    assert_eq!(
        settings_of(&plan.links[0]).get(Key::RegistrationPassword),
        None
    );
    assert_eq!(
        plan.notes,
        [
            "alice@example.com: passwords are stored hashed, so the link sets none (give it in a --csv row): the app will ask for it"
        ]
    );
}

#[test]
fn email_file_names_never_leave_the_directory() {
    assert_eq!(
        email_file_name("alice@example.com"),
        "alice@example.com.txt"
    );
    assert_eq!(email_file_name("../etc/passwd"), "_etc_passwd.txt");
    assert_eq!(email_file_name("a b/c"), "a_b_c.txt");
    assert_eq!(email_file_name(".."), "_.txt");
}

//! `plenum provision` as an admin runs it: links for a CSV of users against the shipped
//! config (its `[[device]]` alice), email texts from a template, and refusals of bad
//! CSV rows, templates and base URLs — never printing a password.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plenum_http::provision::{Key, Settings};

const ALICE_PASSWORD: &str = "alice-password";
const BOB_PASSWORD: &str = "b0b,\"quoted\"&=+";

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn provision(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plenum"))
        .arg("provision")
        .arg("--config")
        .arg(shipped_config())
        .args(args)
        .current_dir(dir)
        .env_remove("PLENUM_LISTEN")
        .env_remove("PLENUM_PUBLIC_NAME")
        .output()
        .expect("run plenum")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_password(output: &Output) {
    for secret in [ALICE_PASSWORD, "b0b"] {
        assert!(
            !text(&output.stdout).contains(secret),
            "{}",
            text(&output.stdout)
        );
        assert!(
            !text(&output.stderr).contains(secret),
            "{}",
            text(&output.stderr)
        );
    }
}

#[test]
fn writes_a_link_per_user_and_an_email_each_without_printing_passwords() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("users.csv"),
        format!(
            "alias,username,password,name,email\n\
             alice@example.com,,{ALICE_PASSWORD},\"Alice Liddell\",alice@mail.example\n\
             bob@example.com,bob,\"{}\",\"Builder, Bob\",bob@mail.example\n",
            BOB_PASSWORD.replace('"', "\"\"")
        ),
    )
    .expect("write CSV");
    std::fs::write(
        dir.path().join("mail.txt"),
        "Hello {name},\n\nopen {link} to set up {alias}.\n",
    )
    .expect("write template");
    let output = provision(
        &[
            "--csv",
            "users.csv",
            "--email-template",
            "mail.txt",
            "--base-url",
            "https://video.example.com",
            "--out",
            "out",
        ],
        dir.path(),
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert_no_password(&output);
    assert!(
        stdout.contains("wrote 2 provisioning link(s) for https://video.example.com to out/links.csv (2 set a password)"),
        "{stdout}"
    );
    assert!(stdout.contains("wrote 2 email text(s)"), "{stdout}");
    assert!(
        stdout.contains("note: CSV line 3: bob@example.com is not a [[device]] in the config"),
        "{stdout}"
    );

    let out = dir.path().join("out");
    let mut reader = csv::Reader::from_path(out.join("links.csv")).expect("links.csv");
    assert_eq!(
        reader.headers().expect("header"),
        vec!["alias", "name", "email", "link"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    let prefix = "https://video.example.com/api/client/v2/provision?data=";
    let mut expected = Vec::new();
    for (row, alias, name, email, username, password) in [
        (
            &rows[0],
            "alice@example.com",
            "Alice Liddell",
            "alice@mail.example",
            "alice",
            ALICE_PASSWORD,
        ),
        (
            &rows[1],
            "bob@example.com",
            "Builder, Bob",
            "bob@mail.example",
            "bob",
            BOB_PASSWORD,
        ),
    ] {
        assert_eq!(&row[0], alias);
        assert_eq!(&row[1], name);
        assert_eq!(&row[2], email);
        let data = row[3]
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("link {}", &row[3]));
        let settings = Settings::decode(data).expect("the link decodes");
        let got: Vec<(Key, String)> = settings.iter().map(|(k, v)| (k, v.to_owned())).collect();
        assert_eq!(
            got,
            vec![
                (Key::Name, name.to_owned()),
                (Key::RegistrationHost, "video.example.com".to_owned()),
                (Key::RegistrationAlias, alias.to_owned()),
                (Key::RegistrationUsername, username.to_owned()),
                (Key::RegistrationPassword, password.to_owned()),
            ]
        );
        expected.push((alias, name, row[3].to_owned()));
    }
    for (alias, name, link) in expected {
        let mail = std::fs::read_to_string(out.join(format!("{alias}.txt"))).expect("email");
        assert_eq!(
            mail,
            format!("Hello {name},\n\nopen {link} to set up {alias}.\n")
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["links.csv", "alice@example.com.txt"] {
            let mode = std::fs::metadata(out.join(file))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is readable by others: {mode:o}");
        }
    }
}

#[test]
fn without_a_csv_the_configured_devices_get_links_without_passwords() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = provision(&["--out", "out"], dir.path());
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    // The shipped node listens on 127.0.0.1:8443 as localhost.
    assert!(
        stdout.contains("for https://localhost:8443 to out/links.csv (0 set a password)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("note: alice@example.com: passwords are stored hashed"),
        "{stdout}"
    );
    let links = std::fs::read_to_string(dir.path().join("out/links.csv")).expect("links");
    assert!(links.starts_with("alias,name,email,link\nalice@example.com,,,https://localhost:8443/api/client/v2/provision?data="), "{links}");
}

#[test]
fn bad_rows_and_templates_are_refused_with_line_numbers_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("users.csv"),
        "alias,password\nalice@example.com,alice-password\n,b0b-secret\nalice@example.com,x,y\n",
    )
    .expect("write CSV");
    std::fs::write(dir.path().join("mail.txt"), "Hi {name}\n{password}\n").expect("write");
    let output = provision(
        &[
            "--csv",
            "users.csv",
            "--email-template",
            "mail.txt",
            "--out",
            "out",
        ],
        dir.path(),
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_no_password(&output);
    for expected in [
        "users.csv: line 3: the alias is empty",
        "users.csv: line 4: 3 fields where the header has 2",
        "mail.txt: line 2: unknown placeholder {password}; the placeholders are {name}, {link}, {alias}",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from\n{stderr}"
        );
    }
    assert!(!dir.path().join("out").exists());

    let output = provision(&["--base-url", "http://video.example.com"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr)
            .contains("--base-url \"http://video.example.com\" is not an https:// URL"),
        "{}",
        text(&output.stderr)
    );
}

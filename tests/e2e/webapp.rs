//! The web app on a live node: embedded in the binary, reached from `/`, with its
//! security headers; the branding package from the config directory.

use crate::support::{TestNode, shipped_config};

#[tokio::test]
async fn the_node_serves_the_web_app_from_its_binary() {
    let node = TestNode::start().await;
    let root = node
        .client
        .get(node.url("/"))
        .send()
        .await
        .expect("request");
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], "/webapp/home");

    let home = node
        .client
        .get(node.url("/webapp/home"))
        .send()
        .await
        .expect("request");
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(home.headers()["cache-control"], "no-cache");
    assert_eq!(home.headers()["x-content-type-options"], "nosniff");
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.starts_with("default-src 'self'; script-src 'self';"),
        "{csp}"
    );
    let html = home.text().await.expect("body");
    assert!(html.contains("/webapp/assets/"), "{html}");
    node.stop().await;
}

#[tokio::test]
async fn branding_is_served_from_the_config_directory() {
    // The shipped config has no active package.
    let node = TestNode::start().await;
    assert_eq!(
        node.node.config().branding_dir,
        Some(
            std::path::absolute(shipped_config())
                .expect("absolute")
                .join("branding")
        )
    );
    let manifest = node
        .client
        .get(node.url("/webapp2/custom_configuration/manifest.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(manifest.status(), 404);
    node.stop().await;

    let branding = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        branding.path().join("manifest.json"),
        r#"{"brandingID":"e2e"}"#,
    )
    .expect("write");
    let dir = branding.path().to_path_buf();
    let node = TestNode::start_with(move |config| config.branding_dir = Some(dir)).await;
    let manifest = node
        .client
        .get(node.url("/webapp2/custom_configuration/manifest.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(manifest.status(), 200);
    assert_eq!(manifest.headers()["content-type"], "application/json");
    assert_eq!(
        manifest.text().await.expect("body"),
        r#"{"brandingID":"e2e"}"#
    );
    node.stop().await;
}

//! request_token for rooms whose Hosts sign in, through the node's client backend: the
//! identity provider list, refused choices and redirect targets, maintenance mode
//! (#pex203 for sign-ins, #pex110 otherwise), made-up sign-in tokens, Guests with
//! `pin: none`. (The full flow against a real provider is tests/browser/test/sso.test.js.)

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use plenum_core::{DisconnectReason, PinInput, Role, Secret};
use plenum_http::client::backend::{
    ClientBackend, IdpChoice, SsoRequest, TokenRefusal, TokenRequest,
};
use plenum_node::client::NodeClient;
use plenum_node::config::{self, idp_uuid};
use plenum_node::node::Node;

const SERVICES: &str = r#"
[[identity_provider]]
name = "Corp"
issuer = "http://127.0.0.1:9"
client_id = "plenum"

[[service]]
name = "board"
aliases = ["board"]
host_sso = ["corp"]
"#;

async fn node(maintenance: bool) -> Arc<Node> {
    let main = format!("[switches]\nmaintenance_mode = {maintenance}\n");
    let config = config::load_from_sources(&[("plenum.toml", &main), ("services.toml", SERVICES)])
        .expect("valid config");
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    Node::new(config, store).expect("node")
}

fn request(pin: Option<&str>, sso: SsoRequest) -> TokenRequest {
    TokenRequest {
        alias: "board".into(),
        pin: PinInput::from_header(pin),
        display_name: "Typed".into(),
        conference_extension: None,
        join_ticket: None,
        call_tag: None,
        client_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        sso,
    }
}

async fn refusal(client: &NodeClient, pin: Option<&str>, sso: SsoRequest) -> TokenRefusal {
    match client.request_token(request(pin, sso)).await {
        Ok(grant) => panic!("granted as {:?}", grant.role),
        Err(refusal) => refusal,
    }
}

fn chosen(target: &str) -> SsoRequest {
    SsoRequest {
        chosen_idp: Some(idp_uuid("corp").to_string()),
        sso_token: None,
        redirect_target: Some(target.to_owned()),
    }
}

#[tokio::test]
async fn a_caller_without_a_pin_is_shown_the_rooms_identity_providers() {
    let client = NodeClient(node(false).await);
    assert_eq!(
        refusal(&client, None, SsoRequest::default()).await,
        TokenRefusal::IdpRequired(vec![IdpChoice {
            name: "Corp".into(),
            uuid: idp_uuid("Corp"),
        }])
    );
    let guest = client
        .request_token(request(Some("none"), SsoRequest::default()))
        .await
        .expect("a Guest needs no sign-in");
    assert_eq!(guest.role, Role::Guest);
    assert_eq!(guest.display_name, "Typed");
}

#[tokio::test]
async fn bad_choices_and_targets_are_refused_with_their_codes() {
    let client = NodeClient(node(false).await);
    let failed = TokenRefusal::Refused(DisconnectReason::SsoFailed);
    let unknown = SsoRequest {
        chosen_idp: Some(idp_uuid("other").to_string()),
        ..chosen("https://localhost:8443/webapp/#/?t=__pexip-sso-token__")
    };
    assert_eq!(refusal(&client, None, unknown).await, failed);
    assert_eq!(
        refusal(
            &client,
            None,
            chosen("https://evil.example.net/?t=__pexip-sso-token__")
        )
        .await,
        TokenRefusal::Refused(DisconnectReason::SsoForeignDomain)
    );
    assert_eq!(
        refusal(&client, None, chosen("https://localhost:8443/webapp/")).await,
        failed
    );
    // A good target, but the provider's issuer answers nothing: the discovery step fails.
    assert_eq!(
        refusal(
            &client,
            None,
            chosen("https://localhost:8443/webapp/#/?t=__pexip-sso-token__")
        )
        .await,
        failed
    );
    let made_up = SsoRequest {
        sso_token: Some(Secret::new("x".repeat(43))),
        ..SsoRequest::default()
    };
    assert_eq!(refusal(&client, None, made_up).await, failed);
    assert_eq!(
        DisconnectReason::SsoForeignDomain.text(),
        "SSO Authentication Failed. SSO is not available from this domain"
    );
}

#[tokio::test]
async fn maintenance_mode_refuses_sign_ins_with_pex203() {
    let client = NodeClient(node(true).await);
    let maintenance = TokenRefusal::Refused(DisconnectReason::SsoMaintenance);
    assert_eq!(
        refusal(
            &client,
            None,
            chosen("https://localhost:8443/?t=__pexip-sso-token__")
        )
        .await,
        maintenance
    );
    let token = SsoRequest {
        sso_token: Some(Secret::new("x".repeat(43))),
        ..SsoRequest::default()
    };
    assert_eq!(refusal(&client, None, token).await, maintenance);
    assert_eq!(DisconnectReason::SsoMaintenance.pex_code(), Some(203));
    assert_eq!(
        refusal(&client, None, SsoRequest::default()).await,
        TokenRefusal::Refused(DisconnectReason::MaintenanceMode)
    );
}

//! One synthetic participant's side of the client REST API v2, as Pexip's SDK speaks
//! it: request_token, the WebRTC call (offer, answer, ack), refresh_token every
//! `expires / 3`, take_floor, call disconnect and release_token.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// An HTTP client for the node; `source` binds its connections to one local address
/// (on loopback every participant uses its own, as separate machines would, so the
/// node's per-address sign-in limits apply to each alone).
pub fn http_client(source: Option<IpAddr>) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        // The node the loadtest starts has a self-signed certificate.
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30));
    if let Some(source) = source {
        builder = builder.local_address(source);
    }
    Ok(builder.build()?)
}

/// A participant's token and identity in one conference.
#[derive(Debug, Clone)]
pub struct Session {
    http: reqwest::Client,
    /// `https://host:port/api/client/v2/conferences/<alias>`.
    conference: String,
    pub token: String,
    pub participant_uuid: String,
    /// Seconds the token lives unless refreshed.
    pub expires: u64,
}

/// The `result` of a client API answer, or an error naming the request and the answer.
async fn result(what: &str, response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "{what}: HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    let value: Value =
        serde_json::from_str(&body).with_context(|| format!("{what}: the answer is not JSON"))?;
    Ok(value.get("result").cloned().unwrap_or(Value::Null))
}

impl Session {
    /// Joins `alias` on the node at `base` (`https://host:port`) as `display_name`.
    pub async fn request_token(
        http: reqwest::Client,
        base: &str,
        alias: &str,
        display_name: &str,
        pin: Option<&str>,
    ) -> anyhow::Result<Session> {
        let conference = format!("{base}/api/client/v2/conferences/{alias}");
        let mut request = http
            .post(format!("{conference}/request_token"))
            .json(&json!({ "display_name": display_name }));
        if let Some(pin) = pin {
            request = request.header("pin", pin);
        }
        let result = result("request_token", request.send().await?).await?;
        let text = |key: &str| -> anyhow::Result<String> {
            result
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("request_token: no {key} in {result}"))
        };
        Ok(Session {
            token: text("token")?,
            participant_uuid: text("participant_uuid")?,
            expires: text("expires")?.parse().unwrap_or(120),
            http,
            conference,
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/{path}", self.conference))
            .header("token", &self.token)
    }

    /// Places the WebRTC call with `offer`; returns (call uuid, answer SDP).
    pub async fn call(&self, offer: &str, audio_only: bool) -> anyhow::Result<(String, String)> {
        let media_type = if audio_only { "audio" } else { "video" };
        let response = self
            .post(&format!("participants/{}/calls", self.participant_uuid))
            .json(&json!({
                "call_type": "WEBRTC",
                "sdp": offer,
                "media_type": media_type,
                "fecc_supported": false,
            }))
            .send()
            .await?;
        let result = result("calls", response).await?;
        let call = result["call_uuid"]
            .as_str()
            .context("calls: no call_uuid")?;
        let sdp = result["sdp"].as_str().context("calls: no sdp")?;
        Ok((call.to_owned(), sdp.to_owned()))
    }

    /// Starts media on the call.
    pub async fn ack(&self, call: &str) -> anyhow::Result<()> {
        let path = format!("participants/{}/calls/{call}/ack", self.participant_uuid);
        result("ack", self.post(&path).json(&json!({})).send().await?).await?;
        Ok(())
    }

    /// The conference's participants as the client API lists them.
    pub async fn participants(&self) -> anyhow::Result<Vec<Value>> {
        let response = self
            .http
            .get(format!("{}/participants", self.conference))
            .header("token", &self.token)
            .send()
            .await?;
        let result = result("participants", response).await?;
        Ok(result.as_array().cloned().unwrap_or_default())
    }

    /// Takes the presentation floor.
    pub async fn take_floor(&self) -> anyhow::Result<()> {
        let path = format!("participants/{}/take_floor", self.participant_uuid);
        result("take_floor", self.post(&path).send().await?).await?;
        Ok(())
    }

    /// Renews the token (it lives `expires` seconds from each renewal).
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        let result = result("refresh_token", self.post("refresh_token").send().await?).await?;
        self.token = result["token"]
            .as_str()
            .context("refresh_token: no token")?
            .to_owned();
        Ok(())
    }

    /// Hangs up the call and leaves: what the SDK does on "leave".
    pub async fn leave(&self, call: Option<&str>) -> anyhow::Result<()> {
        if let Some(call) = call {
            let path = format!(
                "participants/{}/calls/{call}/disconnect",
                self.participant_uuid
            );
            result("call disconnect", self.post(&path).send().await?).await?;
        }
        let request = self
            .post("release_token")
            .json(&json!({ "reason": "User initiated disconnect" }));
        result("release_token", request.send().await?).await?;
        Ok(())
    }
}

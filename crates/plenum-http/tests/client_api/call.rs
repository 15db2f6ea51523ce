//! The call group: the `calls` offer and its answer, trickled candidates, `ack`,
//! renegotiation, hang-up, DTMF and statistics on one's own call; each backend error
//! mapped to the status the SDK accepts; and the presentation stills.

use axum::body::Bytes;
use axum::http::{Method, StatusCode, header};
use plenum_core::{ParticipantId, Refusal};
use plenum_http::client::backend::{
    CallAnswer, CallError, CallMedia, CallStatistics, StreamStatistics,
};
use serde_json::json;
use uuid::Uuid;

use super::support::{
    ANSWER_SDP, Api, CALL_ID, Call, GUEST, GUEST_TOKEN, HOST, HOST_TOKEN, Reply, UPDATE_ANSWER_SDP,
};

const OFFER: &str = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\n";

fn calls(participant: ParticipantId) -> String {
    format!("participants/{participant}/calls")
}

fn on_call(action: &str) -> String {
    format!("participants/{GUEST}/calls/{CALL_ID}/{action}")
}

/// How a failure must look on the wire.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `{"status":"failed","result": reason}` as `application/json`.
    Envelope(StatusCode, &'static str),
    /// This body as `text/plain; charset=utf-8`.
    Text(StatusCode, &'static str),
}

fn check(reply: &Reply, expected: Expect) {
    match expected {
        Expect::Envelope(status, reason) => reply.assert_failed(status, reason),
        Expect::Text(status, text) => {
            assert_eq!(reply.status, status, "{:?}", reply.body);
            assert_eq!(
                reply
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some("text/plain; charset=utf-8")
            );
            assert_eq!(reply.body, text.as_bytes());
        }
    }
}

/// Every `CallError` the backend can give, with a `Failed` cause that must not leak.
fn every_error() -> [CallError; 7] {
    [
        CallError::InvalidToken,
        CallError::NotYours,
        CallError::UnknownCall,
        CallError::Refused("media is not available to this participant".into()),
        CallError::BadRequest("malformed candidate".into()),
        CallError::Failed("secret engine detail".into()),
        CallError::Timeout,
    ]
}

/// The answers of an endpoint to [`every_error`], in that order.
type Mapping = [Expect; 7];

const REFUSED: &str = "media is not available to this participant";
const BAD: &str = "malformed candidate";

fn refusals_then(bad: Expect, failed: Expect, timeout: Expect) -> Mapping {
    [
        Expect::Envelope(StatusCode::FORBIDDEN, "Invalid token"),
        Expect::Envelope(StatusCode::FORBIDDEN, "Not your call"),
        Expect::Envelope(StatusCode::FORBIDDEN, "Call not found"),
        Expect::Envelope(StatusCode::FORBIDDEN, REFUSED),
        bad,
        failed,
        timeout,
    ]
}

// === calls ===

#[tokio::test]
async fn calls_answers_the_offer_with_call_uuid_and_sdp() {
    let api = Api::new();
    let body = json!({
        "call_type": "WEBRTC",
        "sdp": OFFER,
        "media_type": "audio",
        "fecc_supported": false,
        "unknown": 1,
    })
    .to_string();
    api.post(&calls(GUEST), GUEST_TOKEN, Some(&body))
        .await
        .assert_success(json!({"call_uuid": CALL_ID.to_string(), "sdp": ANSWER_SDP}));
    let body = json!({"call_type": "WEBRTC", "sdp": OFFER, "present": "receive"}).to_string();
    api.post(&calls(GUEST), GUEST_TOKEN, Some(&body))
        .await
        .assert_success(json!({"call_uuid": CALL_ID.to_string(), "sdp": ANSWER_SDP}));
    assert_eq!(
        api.fake.media_calls(),
        [
            Call::Offer {
                by: GUEST,
                participant: GUEST,
                sdp: OFFER.to_owned(),
                media: CallMedia::Audio,
                present: None,
            },
            Call::Offer {
                by: GUEST,
                participant: GUEST,
                sdp: OFFER.to_owned(),
                media: CallMedia::Video,
                present: Some(false),
            },
        ]
    );
}

#[tokio::test]
async fn calls_passes_the_backend_answer_through() {
    let api = Api::new();
    let call = Uuid::from_u128(0x77);
    api.fake.script_calls(|s| {
        s.open = Ok(CallAnswer {
            call,
            sdp: "v=0 other".into(),
        })
    });
    let body = json!({"call_type": "WEBRTC", "sdp": OFFER}).to_string();
    api.post(&calls(HOST), HOST_TOKEN, Some(&body))
        .await
        .assert_success(json!({"call_uuid": call.to_string(), "sdp": "v=0 other"}));
}

#[tokio::test]
async fn malformed_calls_bodies_are_text_400s_that_never_reach_the_node() {
    let api = Api::new();
    let cases: [(Option<&str>, &str); 8] = [
        (
            Some(r#"{"call_type":"RTMP","present":"send","streaming":true}"#),
            "RTMP calls are not supported",
        ),
        (
            Some(r#"{"call_type":"WEBRTC"}"#),
            "sdp must be the WebRTC offer",
        ),
        (
            Some(r#"{"call_type":"WEBRTC","sdp":""}"#),
            "sdp must be the WebRTC offer",
        ),
        (
            Some(r#"{"call_type":"WEBRTC","sdp":"v=0","media_type":"hologram"}"#),
            "media_type must be video, video-only or audio",
        ),
        (
            Some(r#"{"call_type":"WEBRTC","sdp":"v=0","present":"sideways"}"#),
            "present must be send or receive",
        ),
        (Some(r#"{"sdp":"v=0"}"#), "call_type must be WEBRTC"),
        (
            Some("{not json"),
            r#"request body must be JSON like {"call_type": "WEBRTC", "sdp": "v=0…"}"#,
        ),
        (
            Some(r#"{"call_type":"WEBRTC","sdp":42}"#),
            r#"request body must be JSON like {"call_type": "WEBRTC", "sdp": "v=0…"}"#,
        ),
    ];
    for (body, text) in cases {
        let reply = api.post(&calls(GUEST), GUEST_TOKEN, body).await;
        check(&reply, Expect::Text(StatusCode::BAD_REQUEST, text));
    }
    let reply = api.post(&calls(GUEST), GUEST_TOKEN, None).await;
    check(
        &reply,
        Expect::Text(StatusCode::BAD_REQUEST, "call_type must be WEBRTC"),
    );
    assert_eq!(api.fake.media_calls(), []);
}

#[tokio::test]
async fn calls_errors_map_to_the_statuses_the_sdk_accepts() {
    let expected = refusals_then(
        Expect::Text(StatusCode::BAD_REQUEST, BAD),
        Expect::Text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Expect::Text(StatusCode::GATEWAY_TIMEOUT, "media engine timed out"),
    );
    let body = json!({"call_type": "WEBRTC", "sdp": OFFER}).to_string();
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.open = Err(error.clone()));
        let reply = api.post(&calls(GUEST), GUEST_TOKEN, Some(&body)).await;
        check(&reply, expect);
    }
}

// === who may ===

#[tokio::test]
async fn call_endpoints_are_self_only() {
    let api = Api::new();
    let offer = json!({"call_type": "WEBRTC", "sdp": OFFER}).to_string();
    api.post(&calls(GUEST), HOST_TOKEN, Some(&offer))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Not your call");
    for action in [
        "new_candidate",
        "ack",
        "update",
        "disconnect",
        "dtmf",
        "statistics",
    ] {
        api.post(&on_call(action), HOST_TOKEN, Some("{}"))
            .await
            .assert_failed(StatusCode::FORBIDDEN, "Not your call");
    }
    assert_eq!(api.fake.media_calls(), []);
}

#[tokio::test]
async fn call_endpoints_check_the_token_first() {
    let api = Api::new();
    for suffix in [
        calls(GUEST),
        on_call("ack"),
        format!("participants/{GUEST}/calls/not-a-uuid/ack"),
        "participants/not-a-uuid/calls".to_owned(),
    ] {
        api.post(&suffix, "nope", Some("{}"))
            .await
            .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    }
    assert_eq!(api.fake.media_calls(), []);
}

#[tokio::test]
async fn call_ids_that_are_not_uuids_name_no_call() {
    let api = Api::new();
    for action in [
        "new_candidate",
        "ack",
        "update",
        "disconnect",
        "dtmf",
        "statistics",
    ] {
        let suffix = format!("participants/{GUEST}/calls/not-a-uuid/{action}");
        api.post(&suffix, GUEST_TOKEN, Some(r#"{"sdp":"v=0"}"#))
            .await
            .assert_failed(StatusCode::FORBIDDEN, "Call not found");
    }
    api.post("participants/not-a-uuid/calls", GUEST_TOKEN, Some("{}"))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "participant not found");
    assert_eq!(api.fake.media_calls(), []);
}

// === new_candidate ===

#[tokio::test]
async fn candidates_and_the_end_marker_reach_the_node() {
    let api = Api::new();
    let candidate = "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host";
    let body = json!({"candidate": candidate, "mid": "0", "ufrag": "abcd", "pwd": "x"});
    api.post(
        &on_call("new_candidate"),
        GUEST_TOKEN,
        Some(&body.to_string()),
    )
    .await
    .assert_success(json!(null));
    api.post(
        &on_call("new_candidate"),
        GUEST_TOKEN,
        Some(r#"{"candidate":"","mid":"0"}"#),
    )
    .await
    .assert_success(json!(null));
    api.post(
        &on_call("new_candidate"),
        GUEST_TOKEN,
        Some(r#"{"candidate":""}"#),
    )
    .await
    .assert_success(json!(null));
    let added = |candidate: &str, mid: Option<&str>| Call::Candidate {
        by: GUEST,
        participant: GUEST,
        call: CALL_ID,
        candidate: candidate.to_owned(),
        mid: mid.map(str::to_owned),
    };
    assert_eq!(
        api.fake.media_calls(),
        [
            added(candidate, Some("0")),
            added("", Some("0")),
            added("", None)
        ]
    );
}

#[tokio::test]
async fn new_candidate_errors_map_to_403_or_502() {
    let expected = refusals_then(
        Expect::Envelope(StatusCode::FORBIDDEN, BAD),
        Expect::Text(StatusCode::BAD_GATEWAY, "Bad Gateway"),
        Expect::Text(StatusCode::BAD_GATEWAY, "media engine timed out"),
    );
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.other = Err(error.clone()));
        let reply = api
            .post(
                &on_call("new_candidate"),
                GUEST_TOKEN,
                Some(r#"{"candidate":"candidate:x","mid":"0"}"#),
            )
            .await;
        check(&reply, expect);
    }
}

#[tokio::test]
async fn new_candidate_needs_a_candidate() {
    let api = Api::new();
    let reply = api
        .post(
            &on_call("new_candidate"),
            GUEST_TOKEN,
            Some(r#"{"mid":"0"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    reply.json();
    assert_eq!(api.fake.media_calls(), []);
}

// === ack ===

#[tokio::test]
async fn ack_answers_true_every_time_whatever_its_body() {
    let api = Api::new();
    for body in [
        Some("{}"),
        None,
        Some(r#"{"sdp":"offer_ignored","offer_ignored":true}"#),
        Some(r#"{"sdp":"v=0"}"#),
        Some("not even json"),
    ] {
        api.post(&on_call("ack"), GUEST_TOKEN, body)
            .await
            .assert_success(json!(true));
    }
    let ack = Call::Ack {
        by: GUEST,
        participant: GUEST,
        call: CALL_ID,
    };
    assert_eq!(api.fake.media_calls(), vec![ack; 5]);
}

#[tokio::test]
async fn ack_errors_are_403_envelopes_or_text_5xx() {
    let expected = refusals_then(
        Expect::Envelope(StatusCode::FORBIDDEN, BAD),
        Expect::Text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Expect::Text(StatusCode::SERVICE_UNAVAILABLE, "media engine timed out"),
    );
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.other = Err(error.clone()));
        check(
            &api.post(&on_call("ack"), GUEST_TOKEN, Some("{}")).await,
            expect,
        );
    }
}

// === update ===

#[tokio::test]
async fn update_answers_with_the_answer_sdp_string() {
    let api = Api::new();
    let body = json!({"sdp": OFFER, "fecc_supported": false}).to_string();
    api.post(&on_call("update"), GUEST_TOKEN, Some(&body))
        .await
        .assert_success(json!(UPDATE_ANSWER_SDP));
    assert_eq!(
        api.fake.media_calls(),
        [Call::Update {
            by: GUEST,
            participant: GUEST,
            call: CALL_ID,
            sdp: OFFER.to_owned(),
        }]
    );
}

#[tokio::test]
async fn update_without_an_offer_only_checks_the_call() {
    for body in [
        Some("{}"),
        None,
        Some(r#"{"sdp":""}"#),
        Some(r#"{"sdp":"  "}"#),
        Some(r#"{"fecc_supported":true}"#),
    ] {
        let api = Api::new();
        api.fake.script_calls(|s| s.update = Ok(String::new()));
        api.post(&on_call("update"), GUEST_TOKEN, body)
            .await
            .assert_success(json!(""));
        assert_eq!(
            api.fake.media_calls(),
            [Call::Update {
                by: GUEST,
                participant: GUEST,
                call: CALL_ID,
                sdp: String::new(),
            }],
            "{body:?}"
        );
    }
    // A call that does not exist is not "updated" (found by the client_api fuzz target).
    let api = Api::new();
    api.fake
        .script_calls(|s| s.update = Err(CallError::UnknownCall));
    let reply = api.post(&on_call("update"), GUEST_TOKEN, Some("{}")).await;
    check(
        &reply,
        Expect::Envelope(StatusCode::FORBIDDEN, "Call not found"),
    );
}

#[tokio::test]
async fn update_errors_map_to_403_500_or_503() {
    let expected = refusals_then(
        Expect::Envelope(StatusCode::FORBIDDEN, BAD),
        Expect::Text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Expect::Text(StatusCode::SERVICE_UNAVAILABLE, "media engine timed out"),
    );
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.update = Err(error.clone()));
        let reply = api
            .post(&on_call("update"), GUEST_TOKEN, Some(r#"{"sdp":"v=0"}"#))
            .await;
        check(&reply, expect);
    }
}

// === disconnect ===

#[tokio::test]
async fn call_disconnect_answers_null() {
    let api = Api::new();
    api.post(&on_call("disconnect"), GUEST_TOKEN, None)
        .await
        .assert_success(json!(null));
    assert_eq!(
        api.fake.media_calls(),
        [Call::HangUp {
            by: GUEST,
            participant: GUEST,
            call: CALL_ID,
        }]
    );
    // The participant is untouched: a call hang-up is no participant command.
    assert_eq!(api.fake.commands(), []);
}

#[tokio::test]
async fn call_disconnect_errors_map_to_403_502_or_503() {
    let expected = refusals_then(
        Expect::Envelope(StatusCode::FORBIDDEN, BAD),
        Expect::Text(StatusCode::BAD_GATEWAY, "Bad Gateway"),
        Expect::Text(StatusCode::SERVICE_UNAVAILABLE, "media engine timed out"),
    );
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.other = Err(error.clone()));
        check(
            &api.post(&on_call("disconnect"), GUEST_TOKEN, None).await,
            expect,
        );
    }
}

// === dtmf ===

#[tokio::test]
async fn call_dtmf_passes_the_digits_and_answers_true() {
    let api = Api::new();
    api.post(&on_call("dtmf"), GUEST_TOKEN, Some(r#"{"digits":"1234#"}"#))
        .await
        .assert_success(json!(true));
    assert_eq!(
        api.fake.media_calls(),
        [Call::Dtmf {
            by: GUEST,
            participant: GUEST,
            call: CALL_ID,
            digits: "1234#".to_owned(),
        }]
    );
}

#[tokio::test]
async fn call_dtmf_refusals_read_as_on_the_participant_dtmf() {
    let api = Api::new();
    api.fake
        .script_calls(|s| s.dtmf = Ok(Err(Refusal::BadDigits)));
    let via_call = api
        .post(&on_call("dtmf"), GUEST_TOKEN, Some(r#"{"digits":"xyz"}"#))
        .await;
    via_call.assert_failed(StatusCode::FORBIDDEN, &Refusal::BadDigits.to_string());
    // The participant endpoint runs the real core, which refuses the same digits alike.
    let via_participant = api
        .post(
            &format!("participants/{GUEST}/dtmf"),
            HOST_TOKEN,
            Some(r#"{"digits":"xyz"}"#),
        )
        .await;
    assert_eq!(via_participant.json(), via_call.json());
}

#[tokio::test]
async fn call_dtmf_errors_are_403_envelopes_or_text_5xx() {
    let expected = refusals_then(
        Expect::Envelope(StatusCode::FORBIDDEN, BAD),
        Expect::Text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Expect::Text(StatusCode::SERVICE_UNAVAILABLE, "media engine timed out"),
    );
    for (error, expect) in every_error().into_iter().zip(expected) {
        let api = Api::new();
        api.fake.script_calls(|s| s.dtmf = Err(error.clone()));
        let reply = api
            .post(&on_call("dtmf"), GUEST_TOKEN, Some(r#"{"digits":"1"}"#))
            .await;
        check(&reply, expect);
    }
}

// === statistics ===

#[tokio::test]
async fn statistics_are_read_leniently_and_answer_null() {
    let api = Api::new();
    let body = json!({
        "audio": {
            "rx_bitrate": 31.5,
            "tx_bitrate": 32,
            "rx_codec": "opus",
            "tx_codec": "opus",
            "rx_packets_received": 500,
            "rx_packets_lost": 2,
            "tx_packets_sent": 498,
            "rx_historic_packet_loss": 0.4,
            "rx_windowed_packet_loss": 0.0,
            "rx_jitter": 3.2,
            "tx_rb_jitter": 1.0,
            "tx_rb_packetslost": 0,
        },
        "video": {
            "rx_fps": "thirty",
            "tx_fps": 30,
            "rx_resolution": "1280x720",
            "tx_resolution": 720,
            "rx_packets_lost": -3,
            "something_new": {"nested": true},
        },
        "presentation": "not an object",
        "extra": [1, 2, 3],
    });
    api.post(&on_call("statistics"), GUEST_TOKEN, Some(&body.to_string()))
        .await
        .assert_success(json!(null));
    api.post(&on_call("statistics"), GUEST_TOKEN, Some("{}"))
        .await
        .assert_success(json!(null));
    let expected = CallStatistics {
        audio: Some(StreamStatistics {
            rx_bitrate_kbps: Some(31.5),
            tx_bitrate_kbps: Some(32.0),
            rx_codec: Some("opus".into()),
            tx_codec: Some("opus".into()),
            rx_packets_received: Some(500),
            rx_packets_lost: Some(2),
            tx_packets_sent: Some(498),
            rx_historic_packet_loss: Some(0.4),
            rx_windowed_packet_loss: Some(0.0),
            rx_jitter_ms: Some(3.2),
            ..StreamStatistics::default()
        }),
        video: Some(StreamStatistics {
            tx_fps: Some(30.0),
            rx_resolution: Some("1280x720".into()),
            ..StreamStatistics::default()
        }),
        presentation: None,
    };
    let reported = |statistics| Call::Statistics {
        by: GUEST,
        participant: GUEST,
        call: CALL_ID,
        statistics: Box::new(statistics),
    };
    assert_eq!(
        api.fake.media_calls(),
        [reported(expected), reported(CallStatistics::default())]
    );
}

#[tokio::test]
async fn statistics_that_are_not_a_json_object_are_400() {
    let api = Api::new();
    for body in ["[1,2]", "nonsense"] {
        let reply = api
            .post(&on_call("statistics"), GUEST_TOKEN, Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json()["status"], json!("failed"));
    }
    assert_eq!(api.fake.media_calls(), []);
}

#[tokio::test]
async fn statistics_errors_are_403_envelopes() {
    let api = Api::new();
    api.fake
        .script_calls(|s| s.other = Err(CallError::UnknownCall));
    api.post(&on_call("statistics"), GUEST_TOKEN, Some("{}"))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Call not found");
}

// === presentation stills ===

#[tokio::test]
async fn presentation_stills_are_404_when_nobody_presents() {
    let api = Api::new();
    api.get("presentation.jpeg", GUEST_TOKEN)
        .await
        .assert_failed(StatusCode::NOT_FOUND, "No image available");
    api.get("presentation_high.jpeg?id=7", GUEST_TOKEN)
        .await
        .assert_failed(StatusCode::NOT_FOUND, "No image available");
    assert_eq!(
        api.fake.media_calls(),
        [
            Call::Still {
                by: GUEST,
                high: false,
            },
            Call::Still {
                by: GUEST,
                high: true,
            },
        ]
    );
}

#[tokio::test]
async fn presentation_stills_are_uncached_jpegs_with_the_token_in_header_or_query() {
    let api = Api::new();
    let jpeg = Bytes::from_static(b"\xff\xd8\xff\xe0 still \xff\xd9");
    api.fake
        .script_calls(|s| s.presentation = Some(jpeg.clone()));
    let by_header = api.get("presentation.jpeg", HOST_TOKEN).await;
    let by_query = api
        .send(Api::request(
            Method::GET,
            &Api::path(&format!("presentation_high.jpeg?id=42&token={GUEST_TOKEN}")),
            &[],
            None,
        ))
        .await;
    for reply in [&by_header, &by_query] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(reply.body, jpeg);
    }
    assert_eq!(
        api.fake.media_calls(),
        [
            Call::Still {
                by: HOST,
                high: false,
            },
            Call::Still {
                by: GUEST,
                high: true,
            },
        ]
    );
}

#[tokio::test]
async fn presentation_stills_need_a_valid_token() {
    let api = Api::new();
    api.get("presentation.jpeg", "nope")
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    api.send(Api::request(
        Method::GET,
        &Api::path("presentation.jpeg?id=1"),
        &[],
        None,
    ))
    .await
    .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    assert_eq!(api.fake.media_calls(), []);
}

// === methods ===

#[tokio::test]
async fn wrong_methods_on_call_endpoints_are_json_405() {
    let api = Api::new();
    for suffix in [calls(GUEST), on_call("ack"), on_call("update")] {
        api.get(&suffix, GUEST_TOKEN)
            .await
            .assert_failed(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    api.post("presentation.jpeg", GUEST_TOKEN, None)
        .await
        .assert_failed(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    assert_eq!(api.fake.media_calls(), []);
}

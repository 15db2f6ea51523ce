//! WebRTC calls through the client API on a whole node: a Chrome offer answered with
//! H.264 (its first codec; VP8 when the node pins it) and Opus, the call's endpoints, the roster reflecting the call, and clear errors
//! for bad offers, unknown calls and other people's calls. (Media itself flowing is
//! tested in Chromium by `tests/browser/test/media.test.js` and in plenum-media.)

use serde_json::json;

use crate::support::TestNode;

/// A Chrome offer as the Pexip SDK sends it (H.264 first, idle slides line).
fn chrome_offer() -> String {
    include_str!("fixtures/chrome-offer.sdp")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

fn participant_path(id: &str, rest: &str) -> String {
    format!("participants/{id}/{rest}")
}

#[tokio::test]
async fn a_node_with_h264_switched_off_answers_vp8() {
    let node = TestNode::start_with(|c| c.switches.h264_enabled = false).await;
    let (token, me) = node.token("meet.open", "Alice", None).await;
    let (status, body) = node
        .client_post(
            "meet.open",
            &participant_path(&me, "calls"),
            Some(&token),
            Some(json!({"call_type": "WEBRTC", "sdp": chrome_offer(), "media_type": "video"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sdp = body["result"]["sdp"].as_str().expect("answer sdp");
    assert!(
        sdp.contains("VP8/90000") && !sdp.contains("H264"),
        "VP8 pinned: {sdp}"
    );
}

#[tokio::test]
async fn a_call_is_answered_and_shown_in_the_roster_until_it_ends() {
    let node = TestNode::start().await;
    let (token, me) = node.token("meet.open", "Alice", None).await;
    let mut events = node.events("meet.open", &token).await;
    events.until("participant_sync_end").await;

    let (status, body) = node
        .client_post(
            "meet.open",
            &participant_path(&me, "calls"),
            Some(&token),
            Some(json!({"call_type": "WEBRTC", "sdp": chrome_offer(), "media_type": "video"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let call = body["result"]["call_uuid"]
        .as_str()
        .expect("call_uuid")
        .to_owned();
    let sdp = body["result"]["sdp"].as_str().expect("answer sdp");
    assert!(sdp.starts_with("v=0"), "{sdp}");
    assert!(
        sdp.contains("H264/90000") && !sdp.contains("VP8"),
        "H.264 chosen, the offer's first codec: {sdp}"
    );
    assert!(sdp.contains("opus/48000"), "{sdp}");
    assert!(
        sdp.contains("a=content:main") && sdp.contains("a=content:slides"),
        "{sdp}"
    );
    assert!(
        sdp.contains("a=candidate:"),
        "host candidates in the answer: {sdp}"
    );

    // The roster says: a video call over WebRTC.
    loop {
        let event = events.until("participant_update").await;
        if event.data["is_video_call"] == "YES" {
            assert_eq!(event.data["protocol"], "webrtc");
            assert_eq!(event.data["is_audio_only_call"], "NO");
            break;
        }
    }

    let call_path = |rest: &str| participant_path(&me, &format!("calls/{call}/{rest}"));
    let candidate = json!({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "mid": "0", "ufrag": "Wm3x"});
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("new_candidate"),
            Some(&token),
            Some(candidate),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(null)), "{body}");
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("new_candidate"),
            Some(&token),
            Some(json!({"candidate": "", "mid": "0"})),
        )
        .await;
    assert_eq!(
        (status, &body["result"]),
        (200, &json!(null)),
        "end marker: {body}"
    );
    for _ in 0..2 {
        let (status, body) = node
            .client_post(
                "meet.open",
                &call_path("ack"),
                Some(&token),
                Some(json!({})),
            )
            .await;
        assert_eq!(
            (status, &body["result"]),
            (200, &json!(true)),
            "ack is repeatable"
        );
    }
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("dtmf"),
            Some(&token),
            Some(json!({"digits": "1234#"})),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)), "{body}");
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("statistics"),
            Some(&token),
            Some(json!({"video": {"rx_bitrate": 500, "rx_packets_lost": 3}})),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(null)), "{body}");

    // A renegotiation answers again (the slides line now receives from us).
    let reoffer = chrome_offer().replacen("a=inactive", "a=recvonly", 1);
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("update"),
            Some(&token),
            Some(json!({"sdp": reoffer})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = body["result"].as_str().expect("answer string");
    assert!(answer.starts_with("v=0"), "{answer}");
    let slides = answer.split("m=video").nth(2).expect("slides section");
    assert!(
        slides.contains("a=sendonly"),
        "we would send the presentation: {slides}"
    );

    // Hang up: the call is gone, the participant stays, back to control only.
    let (status, body) = node
        .client_post("meet.open", &call_path("disconnect"), Some(&token), None)
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(null)), "{body}");
    let (status, body) = node
        .client_post(
            "meet.open",
            &call_path("ack"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("Call not found"))
    );
    loop {
        let event = events.until("participant_update").await;
        if event.data["is_video_call"] == "NO" {
            assert_eq!(event.data["protocol"], "api");
            assert_eq!(event.data["has_media"], false);
            break;
        }
    }
    node.stop().await;
}

#[tokio::test]
async fn a_guest_keying_the_host_pin_into_its_call_becomes_host() {
    let node = TestNode::start().await;
    let (host, _) = node.token("meet.pin", "Host", Some("1234")).await;
    let (guest, me) = node.token("meet.pin", "Guest", Some("none")).await;
    let (status, _) = node
        .client_post("meet.pin", "start_conference", Some(&host), None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = node
        .client_post(
            "meet.pin",
            &participant_path(&me, "calls"),
            Some(&guest),
            Some(json!({"call_type": "WEBRTC", "sdp": chrome_offer(), "media_type": "video"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let call = body["result"]["call_uuid"].as_str().expect("call_uuid");
    let dtmf = participant_path(&me, &format!("calls/{call}/dtmf"));
    let (status, _) = node
        .client_post("meet.pin", "lock", Some(&guest), None)
        .await;
    assert_eq!(status, 403);
    // One tone per request, as a keypad sends them.
    for tone in ["1", "2", "3", "4", "#"] {
        let (status, body) = node
            .client_post(
                "meet.pin",
                &dtmf,
                Some(&guest),
                Some(json!({"digits": tone})),
            )
            .await;
        assert_eq!((status, &body["result"]), (200, &json!(true)), "{body}");
    }
    let (status, body) = node
        .client_post("meet.pin", "lock", Some(&guest), None)
        .await;
    assert_eq!(status, 200, "the new Host may lock: {body}");
    node.stop().await;
}

#[tokio::test]
async fn bad_calls_get_clear_errors() {
    let node = TestNode::start().await;
    let (token, me) = node.token("meet.open", "Alice", None).await;
    let (_other_token, other) = node.token("meet.open", "Bob", None).await;
    let calls = participant_path(&me, "calls");
    let offer = |sdp: String| Some(json!({"call_type": "WEBRTC", "sdp": sdp}));

    let (status, body) = node
        .client_post(
            "meet.open",
            &calls,
            Some(&token),
            offer("hello, I am not SDP".into()),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.as_str().is_some_and(|t| t.contains("v=0")),
        "says what is wrong: {body}"
    );

    // Nothing usable on any line (a line alone without a usable codec is rejected in the
    // answer and the call goes on: plenum-media's peer tests).
    let without_codecs = chrome_offer()
        .replace("opus/48000/2", "x-unknown/48000/2")
        .replace("VP8/90000", "x-unknown/90000")
        .replace("H264/90000", "x-unknown/90000");
    let (status, body) = node
        .client_post("meet.open", &calls, Some(&token), offer(without_codecs))
        .await;
    assert_eq!(status, 400, "{body}");
    let text = body.as_str().unwrap_or_default().to_lowercase();
    assert!(
        text.contains("opus") || text.contains("vp8") || text.contains("codec"),
        "{body}"
    );

    let truncated: String = chrome_offer().chars().take(200).collect();
    let (status, body) = node
        .client_post("meet.open", &calls, Some(&token), offer(truncated))
        .await;
    assert_eq!(status, 400, "{body}");

    // Someone else's participant path.
    let (status, body) = node
        .client_post(
            "meet.open",
            &participant_path(&other, "calls"),
            Some(&token),
            offer(chrome_offer()),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // Call endpoints before any call, or with a call id that is not a uuid.
    let unknown = uuid::Uuid::new_v4();
    for rest in ["update", "ack", "new_candidate", "disconnect", "dtmf"] {
        let body = match rest {
            "update" => json!({"sdp": chrome_offer()}),
            "new_candidate" => json!({"candidate": "", "mid": "0"}),
            "dtmf" => json!({"digits": "1"}),
            _ => json!({}),
        };
        let (status, answer) = node
            .client_post(
                "meet.open",
                &participant_path(&me, &format!("calls/{unknown}/{rest}")),
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, answer["result"].as_str()),
            (403, Some("Call not found")),
            "{rest}: {answer}"
        );
    }
    let (status, body) = node
        .client_post(
            "meet.open",
            &participant_path(&me, "calls/not-a-uuid/ack"),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("Call not found"))
    );

    // A real call, then a malformed candidate: refused, the call carries on.
    let (status, body) = node
        .client_post("meet.open", &calls, Some(&token), offer(chrome_offer()))
        .await;
    assert_eq!(status, 200, "{body}");
    let call = body["result"]["call_uuid"]
        .as_str()
        .expect("call")
        .to_owned();
    let (status, body) = node
        .client_post(
            "meet.open",
            &participant_path(&me, &format!("calls/{call}/new_candidate")),
            Some(&token),
            Some(json!({"candidate": "candidate:garbage", "mid": "0"})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = node
        .client_post(
            "meet.open",
            &participant_path(&me, &format!("calls/{call}/ack")),
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    node.stop().await;
}

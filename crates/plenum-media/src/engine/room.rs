//! One conference's media work, tick by tick: drain what each sender sent, decode it
//! once, mix "everyone but me" audio and composite each distinct view, encode every
//! distinct output once and hand the encoded bytes to every receiver of it.
//!
//! Synchronous and clock-free: [`MediaRoom::tick`] takes the tick number (20 ms each) and
//! the media thread (`engine::thread`) paces it. Tests drive it directly.
//!
//! Sharing: receivers that hear the same mix share one Opus encoder (all non-speakers
//! hear the full mix); receivers with an identical view (same tiles, layout and tier)
//! share one compositor and VP8 encoder (a [`Pipeline`]); presentation receivers share
//! one encoder per tier. Each encoded frame is one `Bytes`, cloned (a reference count)
//! per receiver.
//!
//! A Test Call ([`RoomView::loopback`]) sends each caller their own voice and picture back
//! [`LOOPBACK_DELAY_TICKS`] late: encoded as for anyone else, then held in a queue.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use plenum_core::{Layout, ParticipantId};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::jitter::{Jitter, Playout};
use super::view::{AUDIO_KBPS, RoomView, Tier, ViewParticipant};
use crate::audio::opus::MAX_PACKET_BYTES;
use crate::audio::{
    Frame, MixInput, MixOutput, Mixer, MixerConfig, OpusConfig, OpusDecoder, OpusEncoder, SILENCE,
    Vad,
};
use crate::peer::{IncomingMedia, MediaKind};
use crate::video::{
    Compositor, CompositorConfig, Filter, I420Frame, NameFont, Rect, Rgb, TileSource, VideoCodec,
    VideoDecoder, VideoEncoder, VideoEncoderConfig, VideoError, name_tile_color, scale_into,
};

/// One tick of the media clock: one 20 ms audio frame.
pub const TICK_MS: u64 = 20;
/// RTP 90 kHz units per tick (video presentation timestamps).
const PTS_PER_TICK: i64 = 90 * TICK_MS as i64;
/// A sender whose last video frame is older than this (ticks) shows as a name tile.
const VIDEO_STALE_TICKS: u64 = 100;
/// At most one keyframe request to a sender per this many ticks.
const KEYFRAME_REQUEST_TICKS: u64 = 50;
/// At most one forced keyframe per encoder per this many ticks (coalesced PLIs).
const FORCED_KEYFRAME_TICKS: u64 = 25;
/// Encoders nobody used for this many ticks are dropped.
const RETIRE_TICKS: u64 = 250;
/// Encoder bitrate changes at most this often (ticks).
const BITRATE_UPDATE_TICKS: u64 = 50;
/// A presentation still (JPEG) at most this often (ticks): 1 fps.
const STILL_TICKS: u64 = 50;
/// JPEG quality of presentation stills.
const STILL_QUALITY: u8 = 80;
/// How late a Test Call plays a caller's own media back (ticks): one second, as Pexip's
/// test call does, so that speaking and hearing oneself do not overlap.
pub const LOOPBACK_DELAY_TICKS: u64 = 50;
/// Encoded frames a loopback queue holds at most (a second of audio, with slack).
const LOOPBACK_QUEUE: usize = 64;

/// A call's id (`call_uuid`).
pub type CallId = Uuid;

/// What the room sends toward one browser; the call's pump task turns it into RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// One 20 ms Opus packet.
    Audio(Bytes),
    /// One VP8 frame of the composite.
    Video(Bytes),
    /// One VP8 frame of the presentation.
    Slides(Bytes),
    /// Ask this browser for a keyframe of what it sends (RTCP PLI).
    RequestKeyframe(MediaKind),
}

/// Which streams a call negotiated (from the SDP answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Streams {
    /// Audio both ways.
    pub audio: bool,
    /// Main video both ways.
    pub video: bool,
    /// The browser sends a presentation on the slides m-line.
    pub slides_in: bool,
    /// We may send the presentation on the slides m-line.
    pub slides_out: bool,
    /// The codec of the main video line, both ways.
    pub video_codec: VideoCodec,
    /// The codec of the slides line, both ways.
    pub slides_codec: VideoCodec,
}

/// A new call joining the room.
#[derive(Debug)]
pub struct MemberSetup {
    pub participant: ParticipantId,
    pub call: CallId,
    /// Media received from the browser.
    pub inbound: mpsc::Receiver<IncomingMedia>,
    /// Media for the browser (`try_send`: a full queue drops, never blocks the room).
    pub outbound: mpsc::Sender<Outbound>,
    pub streams: Streams,
    /// The call's bandwidth (kbps, from the offer).
    pub bandwidth_kbps: u32,
}

/// What the room tells the conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomNotice {
    /// Voice activity of a participant started or stopped.
    Speaking {
        participant: ParticipantId,
        speaking: bool,
    },
    /// Video from a participant started or stopped arriving.
    VideoFlowing {
        participant: ParticipantId,
        flowing: bool,
    },
}

/// A JPEG snapshot of the presentation, for clients that show stills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Still {
    /// Increases with every still of the conference (the SSE event id).
    pub seq: u64,
    /// 640×360 (`presentation.jpeg`).
    pub low: Bytes,
    /// 1280×720 (`presentation_high.jpeg`).
    pub high: Bytes,
}

/// What changed about the presentation stills since the last [`MediaRoom::take_still`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StillUpdate {
    /// A new still.
    New(Still),
    /// The presentation ended: no still any more.
    Cleared,
}

/// Room tuning.
#[derive(Clone)]
pub struct RoomConfig {
    /// Composite every this many ticks (2 = 25 fps).
    pub video_every: u64,
    /// A composite nobody else is in (alone, waiting room) is sent every this many
    /// ticks: a low rate that keeps the browser's inbound video alive.
    pub idle_video_every: u64,
    /// Forced keyframe interval, in frames, on top of on-demand ones.
    pub keyframe_interval: u32,
    /// Font for name tiles (TrueType bytes); colour blocks only without one.
    pub font: Option<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for RoomConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomConfig")
            .field("video_every", &self.video_every)
            .field("idle_video_every", &self.idle_video_every)
            .field("keyframe_interval", &self.keyframe_interval)
            .field("font", &self.font.is_some())
            .finish()
    }
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            video_every: 2,
            idle_video_every: 10,
            keyframe_interval: 250,
            font: None,
        }
    }
}

/// A decoder and the last picture it produced.
struct VideoIn {
    decoder: Option<VideoDecoder>,
    frame: I420Frame,
    /// Tick of the last decoded picture.
    last_frame: Option<u64>,
    /// Tick of the last frame received (decoded or skipped).
    last_received: Option<u64>,
    /// Someone sees this stream (it is in a composite or is the presentation); unwatched
    /// streams are not decoded.
    watched: bool,
    /// Counts decoded pictures (tells encoders whether something new arrived).
    frames: u64,
    /// After a decode error: drop frames until a keyframe.
    awaiting_keyframe: bool,
    last_request: Option<u64>,
    kind: MediaKind,
}

impl VideoIn {
    fn new(kind: MediaKind) -> VideoIn {
        VideoIn {
            decoder: None,
            frame: I420Frame::default(),
            last_frame: None,
            last_received: None,
            watched: true,
            frames: 0,
            awaiting_keyframe: false,
            last_request: None,
            kind,
        }
    }

    /// A recent decoded picture to show.
    fn fresh(&self, tick: u64) -> bool {
        self.last_frame
            .is_some_and(|t| tick.saturating_sub(t) < VIDEO_STALE_TICKS)
    }

    /// Video is arriving (decoded or not).
    fn arriving(&self, tick: u64) -> bool {
        self.last_received
            .is_some_and(|t| tick.saturating_sub(t) < VIDEO_STALE_TICKS)
    }

    /// Nobody sees this sender: stop decoding (the decoder is dropped) until it is seen
    /// again, then start from a requested keyframe.
    fn set_watched(&mut self, watched: bool, tick: u64, outbound: &mpsc::Sender<Outbound>) {
        if watched == self.watched {
            return;
        }
        self.watched = watched;
        if watched {
            self.last_request = None;
            self.request_keyframe(tick, outbound);
        } else {
            self.decoder = None;
            self.awaiting_keyframe = true;
            self.last_frame = None;
        }
    }

    /// Decodes one received frame (in `codec`); on corruption asks the sender for a
    /// keyframe.
    fn receive(
        &mut self,
        media: &IncomingMedia,
        codec: VideoCodec,
        tick: u64,
        outbound: &mpsc::Sender<Outbound>,
    ) {
        self.last_received = Some(tick);
        if !self.watched {
            return;
        }
        if self.awaiting_keyframe && !media.keyframe {
            self.request_keyframe(tick, outbound);
            return;
        }
        let decoder = match &mut self.decoder {
            Some(d) if d.codec() == codec => d,
            _ => match VideoDecoder::new(codec) {
                Ok(d) => self.decoder.insert(d),
                Err(error) => {
                    tracing::warn!(%error, %codec, "no video decoder");
                    return;
                }
            },
        };
        match decoder.decode(&media.payload, &mut self.frame) {
            Ok(true) => {
                self.awaiting_keyframe = false;
                self.last_frame = Some(tick);
                self.frames += 1;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::debug!(%error, kind = ?self.kind, "undecodable video frame");
                self.awaiting_keyframe = true;
                // A fresh decoder: codec state after an error is not trusted.
                self.decoder = None;
                self.request_keyframe(tick, outbound);
            }
        }
    }

    fn request_keyframe(&mut self, tick: u64, outbound: &mpsc::Sender<Outbound>) {
        if self
            .last_request
            .is_some_and(|t| tick.saturating_sub(t) < KEYFRAME_REQUEST_TICKS)
        {
            return;
        }
        self.last_request = Some(tick);
        let _ = outbound.try_send(Outbound::RequestKeyframe(self.kind));
    }
}

/// One call in the room.
struct Member {
    participant: ParticipantId,
    call: CallId,
    inbound: mpsc::Receiver<IncomingMedia>,
    outbound: mpsc::Sender<Outbound>,
    streams: Streams,
    bandwidth_kbps: u32,
    /// The receiver's latest bandwidth estimate (REMB), kbps.
    estimate_kbps: Option<u32>,
    /// Share of the call's budget the receiver's loss reports allow (0.3–1.0).
    loss_factor: f32,
    /// ICE connected: only then is media sent.
    connected: bool,
    jitter: Jitter,
    opus: Option<OpusDecoder>,
    audio: Box<Frame>,
    /// Whether `audio` holds this tick's frame.
    has_audio: bool,
    vad: Vad,
    /// Smoothed loudness for ranking speakers.
    level_dbfs: f32,
    video: VideoIn,
    video_flowing: bool,
    slides: VideoIn,
    /// The tiles this receiver sees (reused).
    view_tiles: Vec<ParticipantId>,
    /// Index of the pipeline it receives from.
    pipeline: Option<usize>,
    /// Tier and codec of the presentation pipeline it receives from, if any.
    slides_tier: Option<(Tier, VideoCodec)>,
    /// The receiver asked for a keyframe (PLI/FIR).
    wants_keyframe: bool,
    wants_slides_keyframe: bool,
    dropped: u64,
    /// Test Call: this caller's own encoded audio, by tick, until it is played back.
    echo: VecDeque<(u64, Bytes)>,
}

impl Member {
    fn send(&mut self, out: Outbound) {
        if self.outbound.try_send(out).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::debug!(call = %self.call, dropped = self.dropped, "outbound queue full, dropping media");
            }
        }
    }
}

/// The meeting as last told, with participants indexed by id: the per-tick paths look
/// participants up by id for every member and tile, so a linear scan would make a tick
/// quadratic in the room size. Built once per view change, off the media path.
struct ViewIndex {
    view: Arc<RoomView>,
    by_id: std::collections::HashMap<ParticipantId, usize>,
}

impl ViewIndex {
    fn new(view: Arc<RoomView>) -> ViewIndex {
        let by_id = view
            .participants
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        ViewIndex { view, by_id }
    }

    fn participant(&self, id: ParticipantId) -> Option<&ViewParticipant> {
        self.by_id.get(&id).map(|&i| &self.view.participants[i])
    }
}

impl std::ops::Deref for ViewIndex {
    type Target = RoomView;

    fn deref(&self) -> &RoomView {
        &self.view
    }
}

/// What a composite shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ViewKind {
    Meeting,
    Alone,
    WaitingForHost,
    WaitingForAdmission,
}

impl ViewKind {
    fn notice(self) -> &'static str {
        match self {
            ViewKind::Meeting => "",
            ViewKind::Alone => "You are the only participant",
            ViewKind::WaitingForHost => "Waiting for the host to start the meeting",
            ViewKind::WaitingForAdmission => "Waiting to be admitted",
        }
    }
}

const NOTICE_COLOR: Rgb = Rgb::new(0x26, 0x32, 0x3c);

/// A composite and its encoder, shared by every receiver with the same view.
struct Pipeline {
    kind: ViewKind,
    layout: Layout,
    tier: Tier,
    codec: VideoCodec,
    tiles: Vec<ParticipantId>,
    compositor: Compositor,
    encoder: VideoEncoder,
    force_keyframe: bool,
    last_forced: Option<u64>,
    last_used: u64,
    last_bitrate_change: u64,
    frames: u64,
    /// Test Call: encoded frames, by tick, until they are played back; `None` in a meeting.
    delayed: Option<VecDeque<(u64, Bytes)>>,
}

/// The presentation encoder of one tier and codec.
struct SlidesPipeline {
    tier: Tier,
    codec: VideoCodec,
    canvas: I420Frame,
    encoder: VideoEncoder,
    /// The presenter's frame counter at the last encode.
    encoded_frame: u64,
    force_keyframe: bool,
    last_forced: Option<u64>,
    last_used: u64,
    last_sent: u64,
}

/// The room: every call of one conference.
pub struct MediaRoom {
    config: RoomConfig,
    members: Vec<Option<Member>>,
    view: Arc<ViewIndex>,
    mixer: Mixer,
    mix_out: MixOutput,
    mix_inputs: Vec<MixInput<'static>>,
    full_encoder: Option<OpusEncoder>,
    speaker_encoders: Vec<(ParticipantId, OpusEncoder, u64)>,
    packet: Box<[u8; MAX_PACKET_BYTES]>,
    pipelines: Vec<Pipeline>,
    slides: Vec<SlidesPipeline>,
    tile_sources: Vec<TileSource<'static>>,
    /// Frames encoded this tick, by pipeline, before they are handed out.
    video_out: Vec<(usize, Bytes)>,
    /// Presentation frames encoded this tick, by tier and codec.
    slides_out: Vec<((Tier, VideoCodec), Bytes)>,
    stills: Stills,
}

/// The presentation still state.
#[derive(Default)]
struct Stills {
    seq: u64,
    /// The presenter's frame counter at the last still.
    frame: u64,
    last: Option<u64>,
    active: bool,
    pending: Option<StillUpdate>,
    low: I420Frame,
    high: I420Frame,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for MediaRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaRoom")
            .field("members", &self.members.iter().flatten().count())
            .field("pipelines", &self.pipelines.len())
            .field("slides_pipelines", &self.slides.len())
            .field("speaker_encoders", &self.speaker_encoders.len())
            .finish_non_exhaustive()
    }
}

/// Empties a vector of borrowed values and returns its allocation for another borrow
/// (in-place collect reuses the buffer: same type, different lifetime).
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector was cleared"))
        .collect()
}

impl MediaRoom {
    pub fn new(config: RoomConfig) -> MediaRoom {
        let mixer = Mixer::new(MixerConfig::default(), 8);
        let mix_out = mixer.new_output();
        MediaRoom {
            config,
            members: Vec::new(),
            view: Arc::new(ViewIndex::new(Arc::new(RoomView::default()))),
            mixer,
            mix_out,
            mix_inputs: Vec::new(),
            full_encoder: None,
            speaker_encoders: Vec::new(),
            packet: Box::new([0; MAX_PACKET_BYTES]),
            pipelines: Vec::new(),
            slides: Vec::new(),
            tile_sources: Vec::new(),
            video_out: Vec::new(),
            slides_out: Vec::new(),
            stills: Stills::default(),
        }
    }

    /// Adds a call (replacing any earlier call with the same id).
    pub fn add(&mut self, setup: MemberSetup) {
        self.remove(setup.call);
        let member = Member {
            participant: setup.participant,
            call: setup.call,
            inbound: setup.inbound,
            outbound: setup.outbound,
            streams: setup.streams,
            bandwidth_kbps: setup.bandwidth_kbps,
            estimate_kbps: None,
            loss_factor: 1.0,
            connected: false,
            jitter: Jitter::default(),
            opus: None,
            audio: Box::new(SILENCE),
            has_audio: false,
            vad: Vad::default(),
            level_dbfs: f32::NEG_INFINITY,
            video: VideoIn::new(MediaKind::Video),
            video_flowing: false,
            slides: VideoIn::new(MediaKind::Slides),
            view_tiles: Vec::with_capacity(Layout::TwoPlusTwentyOne.capacity()),
            pipeline: None,
            slides_tier: None,
            wants_keyframe: false,
            wants_slides_keyframe: false,
            dropped: 0,
            echo: VecDeque::new(),
        };
        match self.members.iter().position(Option::is_none) {
            Some(free) => self.members[free] = Some(member),
            None => self.members.push(Some(member)),
        }
    }

    /// Removes a call.
    pub fn remove(&mut self, call: CallId) {
        for slot in &mut self.members {
            if slot.as_ref().is_some_and(|m| m.call == call) {
                *slot = None;
            }
        }
    }

    /// Number of calls.
    pub fn len(&self) -> usize {
        self.members.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn member_mut(&mut self, call: CallId) -> Option<&mut Member> {
        self.members.iter_mut().flatten().find(|m| m.call == call)
    }

    /// The call's ICE connection came up (media starts) or went down.
    pub fn set_connected(&mut self, call: CallId, connected: bool) {
        if let Some(m) = self.member_mut(call) {
            m.connected = connected;
            if connected {
                m.wants_keyframe = true;
                m.wants_slides_keyframe = true;
                m.pipeline = None;
                m.slides_tier = None;
            }
        }
    }

    /// The call was renegotiated.
    pub fn set_streams(&mut self, call: CallId, streams: Streams) {
        if let Some(m) = self.member_mut(call) {
            if streams.slides_out && !m.streams.slides_out {
                m.slides_tier = None;
            }
            m.streams = streams;
        }
    }

    /// The browser asked for a keyframe of what we send it.
    pub fn keyframe_requested(&mut self, call: CallId, kind: MediaKind) {
        if let Some(m) = self.member_mut(call) {
            match kind {
                MediaKind::Slides => m.wants_slides_keyframe = true,
                _ => m.wants_keyframe = true,
            }
        }
    }

    /// The browser's receive bandwidth estimate for our video.
    pub fn receiver_estimate(&mut self, call: CallId, bitrate_bps: u64) {
        if let Some(m) = self.member_mut(call) {
            m.estimate_kbps = Some(u32::try_from(bitrate_bps / 1000).unwrap_or(u32::MAX));
        }
    }

    /// The browser's receiver report for our video: `fraction_lost` out of 256. Above
    /// 10 % the bitrate backs off by 15 %, below 2 % it recovers by 5 %, per report.
    pub fn receiver_loss(&mut self, call: CallId, fraction_lost: u8) {
        if let Some(m) = self.member_mut(call) {
            if fraction_lost > 25 {
                m.loss_factor = (m.loss_factor * 0.85).max(0.3);
            } else if fraction_lost < 5 {
                m.loss_factor = (m.loss_factor * 1.05).min(1.0);
            }
        }
    }

    /// The meeting changed.
    pub fn set_view(&mut self, view: Arc<RoomView>) {
        self.view = Arc::new(ViewIndex::new(view));
    }

    /// One 20 ms tick: receive, mix and send audio; every `video_every` ticks also
    /// composite and send video and the presentation.
    pub fn tick(&mut self, tick: u64, notices: &mut Vec<RoomNotice>) {
        self.receive(tick, notices);
        self.audio_tick(tick, notices);
        if tick.is_multiple_of(self.config.video_every.max(1)) {
            self.video_tick(tick);
            self.slides_tick(tick);
        }
    }

    /// Drains every call's inbound queue: audio into jitter buffers, video decoded.
    fn receive(&mut self, tick: u64, notices: &mut Vec<RoomNotice>) {
        for m in self.members.iter_mut().flatten() {
            while let Ok(media) = m.inbound.try_recv() {
                match media.kind {
                    MediaKind::Audio => m.jitter.push(media.rtp_timestamp, media.payload),
                    MediaKind::Video => {
                        m.video
                            .receive(&media, m.streams.video_codec, tick, &m.outbound)
                    }
                    MediaKind::Slides => {
                        m.slides
                            .receive(&media, m.streams.slides_codec, tick, &m.outbound)
                    }
                }
            }
            let flowing = m.video.arriving(tick);
            if flowing != m.video_flowing {
                m.video_flowing = flowing;
                notices.push(RoomNotice::VideoFlowing {
                    participant: m.participant,
                    flowing,
                });
            }
        }
    }

    fn audio_tick(&mut self, tick: u64, notices: &mut Vec<RoomNotice>) {
        let view = Arc::clone(&self.view);
        // Decode one frame per sender and run voice activity.
        for m in self.members.iter_mut().flatten() {
            m.has_audio = false;
            if !m.streams.audio {
                continue;
            }
            let decoder = match &mut m.opus {
                Some(d) => d,
                None => match OpusDecoder::new() {
                    Ok(d) => m.opus.insert(d),
                    Err(error) => {
                        tracing::warn!(%error, "no opus decoder");
                        continue;
                    }
                },
            };
            m.has_audio = match m.jitter.pop() {
                Playout::Packet(p) => decoder.decode(&p, &mut m.audio).is_ok(),
                Playout::Fec(next) => decoder.decode_fec(&next, &mut m.audio).is_ok(),
                Playout::Lost => decoder.decode_lost(&mut m.audio).is_ok(),
                Playout::Idle => false,
            };
            let audible = view
                .participant(m.participant)
                .is_some_and(|p| p.admitted && !p.audio_muted);
            let update = m.vad.process((m.has_audio && audible).then_some(&*m.audio));
            m.level_dbfs = update.level_dbfs;
            if let Some(speaking) = update.transition {
                notices.push(RoomNotice::Speaking {
                    participant: m.participant,
                    speaking,
                });
            }
            if !audible {
                m.has_audio = false;
            }
        }

        if view.loopback {
            self.echo_tick(tick);
            return;
        }

        // Mix: one input per member slot, so a member keeps its mixer slot.
        let mut inputs: Vec<MixInput<'_>> = recycle(std::mem::take(&mut self.mix_inputs));
        for slot in &self.members {
            inputs.push(match slot {
                Some(m) if m.has_audio => MixInput::speaker(&m.audio, m.level_dbfs),
                _ => MixInput::ABSENT,
            });
        }
        self.mixer.mix(&inputs, &mut self.mix_out);
        self.mix_inputs = recycle(inputs);

        // Encode each distinct output once, then hand it to its receivers.
        let mut full: Option<Bytes> = None;
        for slot in 0..self.members.len() {
            let Some(m) = &self.members[slot] else {
                continue;
            };
            if !m.streams.audio || !m.connected {
                continue;
            }
            let admitted = view.participant(m.participant).is_some_and(|p| p.admitted);
            if !admitted {
                continue;
            }
            let packet = match self.mix_out.output_of(slot) {
                None => {
                    if full.is_none() {
                        full = encode_opus(
                            self.full_encoder.get_or_insert_with(new_opus_encoder),
                            self.mix_out.full(),
                            &mut self.packet,
                        );
                    }
                    full.clone()
                }
                Some(_) => {
                    let encoder = own_encoder(&mut self.speaker_encoders, m.participant, tick);
                    encode_opus(encoder, self.mix_out.for_receiver(slot), &mut self.packet)
                }
            };
            if let (Some(packet), Some(m)) = (packet, &mut self.members[slot]) {
                m.send(Outbound::Audio(packet));
            }
        }
        self.speaker_encoders
            .retain(|(_, _, used)| tick.saturating_sub(*used) < RETIRE_TICKS);
    }

    /// Test Call audio: each caller's own voice (silence while muted or quiet), encoded
    /// now and played back [`LOOPBACK_DELAY_TICKS`] later. Nobody hears anyone else.
    fn echo_tick(&mut self, tick: u64) {
        let view = Arc::clone(&self.view);
        for m in self.members.iter_mut().flatten() {
            if !m.streams.audio || !m.connected {
                m.echo.clear();
                continue;
            }
            let admitted = view.participant(m.participant).is_some_and(|p| p.admitted);
            if !admitted {
                continue;
            }
            let encoder = own_encoder(&mut self.speaker_encoders, m.participant, tick);
            let own = if m.has_audio { &*m.audio } else { &SILENCE };
            if let Some(packet) = encode_opus(encoder, own, &mut self.packet) {
                hold(&mut m.echo, tick, packet);
            }
            while let Some(packet) = release(&mut m.echo, tick) {
                m.send(Outbound::Audio(packet));
            }
        }
        self.speaker_encoders
            .retain(|(_, _, used)| tick.saturating_sub(*used) < RETIRE_TICKS);
    }

    fn video_tick(&mut self, tick: u64) {
        let view = Arc::clone(&self.view);
        let video_frame = tick / self.config.video_every.max(1);

        // 1. Which view each receiver gets; receivers with the same view share a pipeline.
        for slot in 0..self.members.len() {
            let Some(m) = &mut self.members[slot] else {
                continue;
            };
            if !m.streams.video || !m.connected {
                m.pipeline = None;
                continue;
            }
            let (kind, layout) = view_of(&view, m.participant, &mut m.view_tiles);
            let output = Output {
                tier: Tier::for_bandwidth(m.bandwidth_kbps),
                codec: m.streams.video_codec,
            };
            let tiles = &m.view_tiles;
            let found = self.pipelines.iter().position(|p| {
                p.kind == kind
                    && p.layout == layout
                    && p.tier == output.tier
                    && p.codec == output.codec
                    && p.tiles == *tiles
            });
            let index = match found {
                Some(i) => i,
                None => {
                    match new_pipeline(&self.config, kind, layout, output, tiles, view.loopback) {
                        Some(p) => {
                            self.pipelines.push(p);
                            self.pipelines.len() - 1
                        }
                        None => continue,
                    }
                }
            };
            if m.pipeline != Some(index) || m.wants_keyframe {
                // A new view, or the receiver lost its decoder state.
                self.pipelines[index].force_keyframe = true;
                m.wants_keyframe = false;
            }
            m.pipeline = Some(index);
            self.pipelines[index].last_used = tick;
        }

        // 2. Bitrate of each pipeline: what its weakest receiver can take.
        for (index, p) in self.pipelines.iter_mut().enumerate() {
            if p.last_used != tick
                || tick.saturating_sub(p.last_bitrate_change) < BITRATE_UPDATE_TICKS
            {
                continue;
            }
            let (low, high) = p.tier.bitrate_range();
            let target = self
                .members
                .iter()
                .flatten()
                .filter(|m| m.pipeline == Some(index))
                .map(|m| {
                    let budget = m.bandwidth_kbps.saturating_sub(AUDIO_KBPS);
                    let budget = (budget as f32 * m.loss_factor) as u32;
                    m.estimate_kbps.map_or(budget, |e| e.min(budget))
                })
                .min()
                .unwrap_or(high)
                .clamp(low, high);
            let current = p.encoder.target_kbps();
            if current.abs_diff(target) * 10 > current {
                if let Err(error) = p.encoder.set_bitrate_kbps(target) {
                    tracing::warn!(%error, "cannot change the composite bitrate");
                }
                p.last_bitrate_change = tick;
            }
        }

        // 3. Composite and encode each pipeline in use, once.
        let mut sources: Vec<TileSource<'_>> = recycle(std::mem::take(&mut self.tile_sources));
        for index in 0..self.pipelines.len() {
            let p = &mut self.pipelines[index];
            if p.last_used != tick {
                continue;
            }
            let idle = p.kind != ViewKind::Meeting;
            let due = !idle || video_frame.is_multiple_of(self.config.idle_video_every.max(1));
            let forced = p.force_keyframe
                && p.last_forced
                    .is_none_or(|t| tick.saturating_sub(t) >= FORCED_KEYFRAME_TICKS);
            if !due && !forced {
                continue;
            }
            sources.clear();
            if idle {
                sources.push(TileSource::Name {
                    name: p.kind.notice(),
                    color: NOTICE_COLOR,
                });
            } else {
                for id in &p.tiles {
                    sources.push(tile_source(&self.members, &view, *id, tick));
                }
            }
            let layout = if idle { Layout::OneMain } else { p.layout };
            let canvas = p.compositor.compose(layout, &sources);
            let pts = tick as i64 * PTS_PER_TICK;
            if forced {
                p.last_forced = Some(tick);
                p.force_keyframe = false;
            }
            match p.encoder.encode(canvas, pts, forced) {
                Ok(Some(encoded)) => {
                    p.frames += 1;
                    let frame = Bytes::copy_from_slice(&encoded.data);
                    match &mut p.delayed {
                        Some(queue) => hold(queue, tick, frame),
                        None => self.video_out.push((index, frame)),
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "composite encode failed"),
            }
            sources.clear();
        }
        // Test Call: what was encoded a second ago goes out now.
        for (index, p) in self.pipelines.iter_mut().enumerate() {
            if let Some(queue) = &mut p.delayed {
                while let Some(frame) = release(queue, tick) {
                    self.video_out.push((index, frame));
                }
            }
        }
        self.tile_sources = recycle(sources);
        for (index, frame) in self.video_out.drain(..) {
            for m in self.members.iter_mut().flatten() {
                if m.pipeline == Some(index) {
                    m.send(Outbound::Video(frame.clone()));
                }
            }
        }

        // 4. Decode only senders someone sees (in a composite in use this tick).
        for slot in 0..self.members.len() {
            let Some(m) = &self.members[slot] else {
                continue;
            };
            let id = m.participant;
            let watched = self.pipelines.iter().any(|p| {
                p.last_used == tick && p.kind == ViewKind::Meeting && p.tiles.contains(&id)
            });
            if let Some(m) = &mut self.members[slot] {
                m.video.set_watched(watched, tick, &m.outbound);
            }
        }

        // 5. Retire pipelines nobody watched for a while (indices shift: reassign next tick).
        if self
            .pipelines
            .iter()
            .any(|p| tick.saturating_sub(p.last_used) >= RETIRE_TICKS)
        {
            self.pipelines
                .retain(|p| tick.saturating_sub(p.last_used) < RETIRE_TICKS);
            for m in self.members.iter_mut().flatten() {
                m.pipeline = None;
            }
        }
    }

    fn slides_tick(&mut self, tick: u64) {
        let view = Arc::clone(&self.view);
        let Some(presenter) = view.presenter else {
            for m in self.members.iter_mut().flatten() {
                m.slides_tier = None;
            }
            self.slides.clear();
            if std::mem::take(&mut self.stills.active) {
                self.stills.pending = Some(StillUpdate::Cleared);
            }
            return;
        };
        let Some(source) = self
            .members
            .iter()
            .flatten()
            .find(|m| m.participant == presenter && m.slides.last_frame.is_some())
        else {
            return;
        };
        let source_frames = source.slides.frames;
        let source_index = self
            .members
            .iter()
            .position(|s| s.as_ref().is_some_and(|m| m.call == source.call))
            .expect("found above");

        // Which tier each receiver gets.
        for m in self.members.iter_mut().flatten() {
            let receives = m.connected
                && m.streams.slides_out
                && m.participant != presenter
                && view
                    .participant(m.participant)
                    .is_some_and(|p| p.admitted && p.receives_presentation);
            if !receives {
                m.slides_tier = None;
                continue;
            }
            let output = Output {
                tier: Tier::for_bandwidth(m.bandwidth_kbps),
                codec: m.streams.slides_codec,
            };
            let key = (output.tier, output.codec);
            let index = match self.slides.iter().position(|s| (s.tier, s.codec) == key) {
                Some(i) => i,
                None => match new_slides_pipeline(&self.config, output) {
                    Some(s) => {
                        self.slides.push(s);
                        self.slides.len() - 1
                    }
                    None => continue,
                },
            };
            if m.slides_tier != Some(key) || m.wants_slides_keyframe {
                self.slides[index].force_keyframe = true;
                m.wants_slides_keyframe = false;
            }
            m.slides_tier = Some(key);
            self.slides[index].last_used = tick;
        }

        let frame = &self.members[source_index]
            .as_ref()
            .expect("source slot is occupied")
            .slides
            .frame;
        self.stills.snapshot(frame, source_frames, tick);
        for s in &mut self.slides {
            if s.last_used != tick {
                continue;
            }
            let forced = s.force_keyframe
                && s.last_forced
                    .is_none_or(|t| tick.saturating_sub(t) >= FORCED_KEYFRAME_TICKS);
            // New picture, a keyframe request, or a keep-alive once a second.
            let due = s.encoded_frame != source_frames || tick.saturating_sub(s.last_sent) >= 50;
            if !due && !forced {
                continue;
            }
            fit_into(frame, &mut s.canvas);
            if forced {
                s.force_keyframe = false;
                s.last_forced = Some(tick);
            }
            match s
                .encoder
                .encode(&s.canvas, tick as i64 * PTS_PER_TICK, forced)
            {
                Ok(Some(encoded)) => {
                    s.encoded_frame = source_frames;
                    s.last_sent = tick;
                    self.slides_out
                        .push(((s.tier, s.codec), Bytes::copy_from_slice(&encoded.data)));
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "presentation encode failed"),
            }
        }
        for (key, bytes) in self.slides_out.drain(..) {
            for m in self.members.iter_mut().flatten() {
                if m.slides_tier == Some(key) {
                    m.send(Outbound::Slides(bytes.clone()));
                }
            }
        }
        self.slides
            .retain(|s| tick.saturating_sub(s.last_used) < RETIRE_TICKS);
    }

    /// A new presentation still, or the news that there is none any more, since the
    /// last call.
    pub fn take_still(&mut self) -> Option<StillUpdate> {
        self.stills.pending.take()
    }

    /// The presenter's latest presentation picture, if one is being received.
    pub fn presentation_frame(&self) -> Option<&I420Frame> {
        let presenter = self.view.presenter?;
        self.members
            .iter()
            .flatten()
            .find(|m| m.participant == presenter && m.slides.last_frame.is_some())
            .map(|m| &m.slides.frame)
    }
}

/// Queues a Test Call frame encoded at `tick`; the oldest goes if the queue is full.
fn hold(queue: &mut VecDeque<(u64, Bytes)>, tick: u64, frame: Bytes) {
    if queue.len() >= LOOPBACK_QUEUE {
        queue.pop_front();
    }
    queue.push_back((tick, frame));
}

/// The next queued Test Call frame whose delay is over at `tick`.
fn release(queue: &mut VecDeque<(u64, Bytes)>, tick: u64) -> Option<Bytes> {
    match queue.front() {
        Some((at, _)) if tick.saturating_sub(*at) >= LOOPBACK_DELAY_TICKS => {
            queue.pop_front().map(|(_, frame)| frame)
        }
        _ => None,
    }
}

/// The Opus encoder of one listener's own output (a speaker's mix without themself, or a
/// Test Call's playback), made on first use; marks it used at `tick`.
fn own_encoder(
    encoders: &mut Vec<(ParticipantId, OpusEncoder, u64)>,
    participant: ParticipantId,
    tick: u64,
) -> &mut OpusEncoder {
    let i = match encoders.iter().position(|(p, _, _)| *p == participant) {
        Some(i) => i,
        None => {
            encoders.push((participant, new_opus_encoder(), tick));
            encoders.len() - 1
        }
    };
    let (_, encoder, used) = &mut encoders[i];
    *used = tick;
    encoder
}

fn new_opus_encoder() -> OpusEncoder {
    OpusEncoder::new(OpusConfig::default()).expect("the default Opus configuration is valid")
}

fn encode_opus(
    encoder: &mut OpusEncoder,
    frame: &Frame,
    packet: &mut [u8; MAX_PACKET_BYTES],
) -> Option<Bytes> {
    match encoder.encode(frame, packet) {
        Ok(n) => Some(Bytes::copy_from_slice(&packet[..n])),
        Err(error) => {
            tracing::warn!(%error, "opus encode failed");
            None
        }
    }
}

/// What `viewer` sees: the kind of view, its layout, and the tiles (into `tiles`).
fn view_of(
    view: &ViewIndex,
    viewer: ParticipantId,
    tiles: &mut Vec<ParticipantId>,
) -> (ViewKind, Layout) {
    tiles.clear();
    let Some(me) = view.participant(viewer) else {
        return (ViewKind::WaitingForAdmission, Layout::OneMain);
    };
    if !me.admitted {
        let kind = if me.waiting_for_host {
            ViewKind::WaitingForHost
        } else {
            ViewKind::WaitingForAdmission
        };
        return (kind, Layout::OneMain);
    }
    if view.loopback {
        tiles.push(viewer);
        return (ViewKind::Meeting, Layout::OneMain);
    }
    let layout = if me.host {
        view.host_layout
    } else {
        view.guest_layout
    };
    crate::video::tile_order_into(&view.stage, Some(&viewer), layout, tiles);
    if tiles.is_empty() {
        (ViewKind::Alone, Layout::OneMain)
    } else {
        (ViewKind::Meeting, layout)
    }
}

/// One tile: the participant's latest picture, or a name tile when there is none
/// (audio only, camera off, video stalled).
fn tile_source<'a>(
    members: &'a [Option<Member>],
    view: &'a ViewIndex,
    id: ParticipantId,
    tick: u64,
) -> TileSource<'a> {
    let entry = view.participant(id);
    let video_muted = entry.is_some_and(|p| p.video_muted);
    if !video_muted
        && let Some(m) = members
            .iter()
            .flatten()
            .find(|m| m.participant == id && m.video.fresh(tick))
    {
        return match entry {
            Some(p) if view.overlay_names => TileSource::LabelledVideo {
                frame: &m.video.frame,
                name: &p.label,
            },
            _ => TileSource::Video(&m.video.frame),
        };
    }
    let seed = id.0.as_u64_pair().0;
    TileSource::Name {
        name: entry.map_or("", |p| p.name.as_str()),
        color: name_tile_color(seed),
    }
}

/// What one encoder produces: a size (tier) in a codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Output {
    tier: Tier,
    codec: VideoCodec,
}

fn new_encoder(config: &RoomConfig, output: Output) -> Result<VideoEncoder, VideoError> {
    let fps = u32::try_from(1000 / (TICK_MS * config.video_every.max(1))).unwrap_or(25);
    let (width, height) = output.tier.size();
    let (low, high) = output.tier.bitrate_range();
    VideoEncoder::new(VideoEncoderConfig {
        codec: output.codec,
        width,
        height,
        fps,
        target_kbps: (low + high) / 2,
        keyframe_interval: config.keyframe_interval,
    })
}

fn new_pipeline(
    config: &RoomConfig,
    kind: ViewKind,
    layout: Layout,
    output: Output,
    tiles: &[ParticipantId],
    loopback: bool,
) -> Option<Pipeline> {
    let encoder = match new_encoder(config, output) {
        Ok(e) => e,
        Err(error) => {
            tracing::warn!(%error, codec = %output.codec, "cannot create a composite encoder");
            return None;
        }
    };
    let (w, h) = output.tier.size();
    let mut compositor = Compositor::new(CompositorConfig::new(w, h));
    if let Some(bytes) = &config.font {
        match NameFont::from_bytes(bytes) {
            Ok(font) => compositor.set_font(Some(font)),
            Err(error) => tracing::warn!(%error, "name tiles without text"),
        }
    }
    Some(Pipeline {
        kind,
        layout,
        tier: output.tier,
        codec: output.codec,
        tiles: tiles.to_vec(),
        compositor,
        encoder,
        force_keyframe: true,
        last_forced: None,
        last_used: 0,
        last_bitrate_change: 0,
        frames: 0,
        delayed: loopback.then(|| VecDeque::with_capacity(LOOPBACK_QUEUE)),
    })
}

fn new_slides_pipeline(config: &RoomConfig, output: Output) -> Option<SlidesPipeline> {
    let encoder = match new_encoder(config, output) {
        Ok(e) => e,
        Err(error) => {
            tracing::warn!(%error, codec = %output.codec, "cannot create a presentation encoder");
            return None;
        }
    };
    let (w, h) = output.tier.size();
    Some(SlidesPipeline {
        tier: output.tier,
        codec: output.codec,
        canvas: I420Frame::new(w, h),
        encoder,
        encoded_frame: 0,
        force_keyframe: true,
        last_forced: None,
        last_used: 0,
        last_sent: 0,
    })
}

impl Stills {
    /// Once a second, a JPEG of a new presentation picture (low and high resolution).
    fn snapshot(&mut self, frame: &I420Frame, frames: u64, tick: u64) {
        let due = self
            .last
            .is_none_or(|t| tick.saturating_sub(t) >= STILL_TICKS);
        if !due || (self.active && frames == self.frame) {
            return;
        }
        if self.low.is_empty() {
            self.low = I420Frame::new(640, 360);
            self.high = I420Frame::new(1280, 720);
        }
        fit_into(frame, &mut self.low);
        fit_into(frame, &mut self.high);
        let low = crate::video::jpeg::encode_jpeg(&self.low, STILL_QUALITY, &mut self.rgb);
        let high = crate::video::jpeg::encode_jpeg(&self.high, STILL_QUALITY, &mut self.rgb);
        match (low, high) {
            (Ok(low), Ok(high)) => {
                self.seq += 1;
                self.frame = frames;
                self.last = Some(tick);
                self.active = true;
                self.pending = Some(StillUpdate::New(Still {
                    seq: self.seq,
                    low: Bytes::from(low),
                    high: Bytes::from(high),
                }));
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "presentation still not encoded");
                self.last = Some(tick);
            }
        }
    }
}

/// Scales the whole of `src` into `dst`, keeping its aspect (letterboxed in black):
/// a presentation is never cropped.
fn fit_into(src: &I420Frame, dst: &mut I420Frame) {
    if src.is_empty() {
        return;
    }
    let (dw, dh) = (dst.width(), dst.height());
    let (sw, sh) = (u64::from(src.width()), u64::from(src.height()));
    let (w, h) = if sw * u64::from(dh) > sh * u64::from(dw) {
        (dw, ((u64::from(dw) * sh / sw) as u32) & !1)
    } else {
        (((u64::from(dh) * sw / sh) as u32) & !1, dh)
    };
    let (w, h) = (w.max(2), h.max(2));
    let rect = Rect::new(((dw - w) / 2) & !1, ((dh - h) / 2) & !1, w, h);
    if rect.w != dw || rect.h != dh {
        dst.fill(Rgb::new(0, 0, 0).to_yuv());
    }
    if let Err(error) = scale_into(src, src.rect(), dst, rect, Filter::Bilinear) {
        tracing::debug!(%error, "presentation frame not scaled");
    }
}

#[cfg(test)]
mod tests;

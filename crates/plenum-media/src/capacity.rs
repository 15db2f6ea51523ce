//! What this machine can carry, measured with the real media kernels: a short run of
//! [`MediaRoom`] per call type (two HD participants in personal views, two SD ones, 24
//! audio-only ones with one talker), timed in this thread's CPU time, gives the CPU one call of each type
//! costs per second. [`Capacity`] turns those costs and the CPUs into call counts in
//! Pexip's units (HD 720p, SD, audio-only) and answers the admission question: does one
//! more call of this type fit?

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use plenum_core::{Layout, ParticipantId};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder};
use crate::engine::{MediaRoom, MemberSetup, RoomConfig, RoomView, Streams, ViewParticipant};
use crate::peer::{IncomingMedia, MediaKind};
use crate::video::{I420Frame, Rect, VideoCodec, VideoEncoder, VideoEncoderConfig, Yuv};

/// The kinds of call capacity is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallClass {
    /// Video at 720p (a call bandwidth of 1264 kbps or more).
    Hd,
    /// Video below 720p.
    Sd,
    /// Audio only.
    Audio,
}

impl CallClass {
    pub fn name(self) -> &'static str {
        match self {
            CallClass::Hd => "hd",
            CallClass::Sd => "sd",
            CallClass::Audio => "audio",
        }
    }
}

/// CPU one call of each class costs per second of meeting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallCosts {
    pub hd: Duration,
    pub sd: Duration,
    pub audio: Duration,
}

impl CallCosts {
    /// A class's cost.
    pub fn of(&self, class: CallClass) -> Duration {
        match class {
            CallClass::Hd => self.hd,
            CallClass::Sd => self.sd,
            CallClass::Audio => self.audio,
        }
    }

    /// Pexip's published ratios, for when nothing was measured: an SD call costs half an
    /// HD call, an audio-only call a twelfth (scaled to an HD call of one second per
    /// second, so only the ratios matter).
    pub fn pexip_ratios() -> CallCosts {
        CallCosts {
            hd: Duration::from_millis(1200),
            sd: Duration::from_millis(600),
            audio: Duration::from_millis(100),
        }
    }
}

/// This thread's CPU time so far (`se.sum_exec_runtime` in `/proc/thread-self/sched`).
pub fn thread_cpu_time() -> Option<Duration> {
    let sched = std::fs::read_to_string("/proc/thread-self/sched").ok()?;
    let line = sched
        .lines()
        .find(|l| l.starts_with("se.sum_exec_runtime"))?;
    let ms: f64 = line.split(':').nth(1)?.trim().parse().ok()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
}

/// Ticks run before timing (encoders made, first keyframes) and timed.
const WARM_TICKS: u64 = 6;
const TIMED_TICKS: u64 = 50;

/// [`measure`] once per process; later calls return the first result (nodes made in
/// one process, as in tests, share it).
pub fn measured() -> Result<CallCosts, String> {
    static COSTS: std::sync::OnceLock<Result<CallCosts, String>> = std::sync::OnceLock::new();
    COSTS.get_or_init(measure).clone()
}

/// Measures [`CallCosts`] on this machine with the real kernels (≈ 0.5–0.8 s of CPU in
/// a release build). Run it off the media threads.
pub fn measure() -> Result<CallCosts, String> {
    Ok(CallCosts {
        hd: per_call(2, Some((1280, 720)), 2048)?,
        sd: per_call(2, Some((640, 360)), 576)?,
        audio: per_call(24, None, 64)?,
    })
}

/// CPU per call-second of a personal-view (`ac`) meeting of `n` calls sending `video`.
fn per_call(n: usize, video: Option<(u32, u32)>, bandwidth_kbps: u32) -> Result<Duration, String> {
    let clip = clip(video)?;
    let mut room = MediaRoom::new(RoomConfig::default());
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    let mut people = Vec::with_capacity(n);
    for i in 0..n {
        let id = ParticipantId(Uuid::from_u128(i as u128 + 1));
        let call = Uuid::from_u128(1000 + i as u128);
        let (tx, inbound) = mpsc::channel(64);
        let (outbound, rx) = mpsc::channel(256);
        room.add(MemberSetup {
            participant: id,
            call,
            inbound,
            outbound,
            streams: Streams {
                audio: true,
                video: video.is_some(),
                slides_in: false,
                slides_out: false,
                video_codec: VideoCodec::Vp8,
                slides_codec: VideoCodec::Vp8,
            },
            bandwidth_kbps,
        });
        room.set_connected(call, true);
        senders.push(tx);
        receivers.push(rx);
        people.push(ViewParticipant {
            video_muted: video.is_none(),
            receives_presentation: false,
            ..ViewParticipant::host(id, &format!("Measure {i}"))
        });
    }
    room.set_view(Arc::new(RoomView {
        host_layout: Layout::Adaptive,
        guest_layout: Layout::Adaptive,
        stage: people.iter().map(|p| p.id).collect(),
        participants: people,
        presenter: None,
        overlay_names: false,
        loopback: false,
    }));
    let mut notices = Vec::new();
    let mut run = |from: u64, to: u64| {
        for t in from..to {
            for (i, tx) in senders.iter().enumerate() {
                // One talks, the others are quiet, as in a meeting.
                let a = t as usize % clip.audio.len();
                let audio = if i == 0 {
                    &clip.audio[a]
                } else {
                    &clip.quiet[a]
                };
                let _ = tx.try_send(IncomingMedia {
                    kind: MediaKind::Audio,
                    payload: audio.clone(),
                    rtp_timestamp: (t as u32).wrapping_mul(960),
                    keyframe: false,
                });
                if !clip.video.is_empty() && t.is_multiple_of(2) {
                    let v = ((t / 2) as usize) % clip.video.len();
                    let _ = tx.try_send(IncomingMedia {
                        kind: MediaKind::Video,
                        payload: clip.video[v].clone(),
                        rtp_timestamp: (t as u32).wrapping_mul(1800),
                        keyframe: v == 0,
                    });
                }
            }
            room.tick(t, &mut notices);
            notices.clear();
            for rx in &mut receivers {
                while rx.try_recv().is_ok() {}
            }
        }
    };
    run(0, WARM_TICKS);
    let (cpu0, wall0) = (thread_cpu_time(), Instant::now());
    run(WARM_TICKS, WARM_TICKS + TIMED_TICKS);
    let spent = match (cpu0, thread_cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall0.elapsed(),
    };
    // TIMED_TICKS × 20 ms of meeting for n calls.
    let media_seconds = TIMED_TICKS as f64 * 0.02;
    Ok(spent.div_f64(media_seconds * n as f64))
}

struct Clip {
    video: Vec<Bytes>,
    /// A voice-like tone.
    audio: Vec<Bytes>,
    /// Room noise well below speech.
    quiet: Vec<Bytes>,
}

/// Ten frames of a moving picture (a keyframe first) and 25 Opus packets each of a tone
/// and of quiet noise.
fn clip(video: Option<(u32, u32)>) -> Result<Clip, String> {
    let mut frames = Vec::new();
    if let Some((w, h)) = video {
        let mut encoder = VideoEncoder::new(VideoEncoderConfig {
            codec: VideoCodec::Vp8,
            width: w,
            height: h,
            fps: 25,
            target_kbps: if w >= 1280 { 1500 } else { 500 },
            keyframe_interval: 3000,
        })
        .map_err(|e| e.to_string())?;
        let mut picture = I420Frame::new(w, h);
        let size = (h / 4) & !1;
        for t in 0..10u32 {
            // Drifting bars and a moving box (the load test's pattern): every part of
            // the picture changes, as with a camera.
            picture.fill(Yuv {
                y: 60,
                u: 110,
                v: 140,
            });
            let bar = (w / 8).max(2);
            for b in 0..8 {
                let x = (b * bar + t * 4) % w;
                let width = (bar.min(w - x) / 2) & !1;
                if width > 0 {
                    picture.fill_rect(
                        Rect::new(x & !1, 0, width, h),
                        Yuv {
                            y: (40 + b * 25) as u8,
                            u: (60 + b * 18) as u8,
                            v: (200 - b * 15) as u8,
                        },
                    );
                }
            }
            picture.fill_rect(
                Rect::new((t * 16) % (w - size), (h - size) / 2, size, size),
                Yuv {
                    y: 230,
                    u: 128,
                    v: 128,
                },
            );
            let out = encoder
                .encode(&picture, i64::from(t) * 3600, t == 0)
                .map_err(|e| e.to_string())?
                .ok_or("the encoder dropped a frame")?;
            frames.push(Bytes::copy_from_slice(&out.data));
        }
    }
    let mut opus = OpusEncoder::new(OpusConfig::default()).map_err(|e| e.to_string())?;
    let mut packet = [0u8; 1275];
    let mut audio = Vec::with_capacity(25);
    let mut quiet = Vec::with_capacity(25);
    let mut noise: u32 = 12_345;
    for n in 0..25 {
        let mut tone: Frame = [0; FRAME_SAMPLES];
        let mut hiss: Frame = [0; FRAME_SAMPLES];
        for (i, (s, q)) in tone.iter_mut().zip(hiss.iter_mut()).enumerate() {
            let t = (n * FRAME_SAMPLES + i) as f32 / 48_000.0;
            *s = (3000.0 * (t * 300.0 * std::f32::consts::TAU).sin()) as i16;
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *q = ((noise >> 16) % 64) as i16 - 32;
        }
        let len = opus.encode(&tone, &mut packet).map_err(|e| e.to_string())?;
        audio.push(Bytes::copy_from_slice(&packet[..len]));
        let len = opus.encode(&hiss, &mut packet).map_err(|e| e.to_string())?;
        quiet.push(Bytes::copy_from_slice(&packet[..len]));
    }
    Ok(Clip {
        video: frames,
        audio,
        quiet,
    })
}

/// What the node may carry: a CPU budget and what each class of call costs of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// CPU per second the node's calls may use together.
    pub budget: Duration,
    pub costs: CallCosts,
}

/// The share of the CPUs calls may use; the rest is head room for the packet path's
/// peaks, signalling and the OS.
pub const CPU_SHARE: f64 = 0.8;

impl Capacity {
    /// From measured costs on `cpus` CPUs.
    pub fn measured(costs: CallCosts, cpus: usize) -> Capacity {
        Capacity {
            budget: Duration::from_secs_f64(cpus as f64 * CPU_SHARE),
            costs,
        }
    }

    /// An admin's figure: `hd_calls` HD calls, the other classes in the ratios of
    /// `costs` (measured, or Pexip's).
    pub fn from_hd_calls(hd_calls: u32, costs: CallCosts) -> Capacity {
        Capacity {
            budget: costs.hd * hd_calls,
            costs,
        }
    }

    /// Calls of one class alone that fit.
    pub fn calls(&self, class: CallClass) -> u64 {
        let cost = self.costs.of(class).as_secs_f64();
        if cost <= 0.0 {
            return u64::MAX;
        }
        (self.budget.as_secs_f64() / cost + 1e-9).floor() as u64
    }

    /// Whether a call of `class` fits beside calls already costing `load`.
    pub fn fits(&self, load: Duration, class: CallClass) -> bool {
        load + self.costs.of(class) <= self.budget
    }

    /// The share of the budget `load` uses (0.0–1.0 and above when overloaded).
    pub fn usage(&self, load: Duration) -> f64 {
        if self.budget.is_zero() {
            return 1.0;
        }
        load.as_secs_f64() / self.budget.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_costs_are_ordered_hd_sd_audio() {
        let costs = measure().expect("measure");
        assert!(costs.hd > costs.sd, "{costs:?}");
        assert!(costs.sd > costs.audio, "{costs:?}");
        assert!(costs.audio > Duration::ZERO, "{costs:?}");
    }

    #[test]
    fn capacity_counts_calls_and_admits_within_the_budget() {
        let costs = CallCosts {
            hd: Duration::from_millis(200),
            sd: Duration::from_millis(50),
            audio: Duration::from_millis(5),
        };
        let one_core = Capacity::measured(costs, 1);
        assert_eq!(one_core.budget, Duration::from_millis(800));
        assert_eq!(one_core.calls(CallClass::Hd), 4);
        assert_eq!(one_core.calls(CallClass::Sd), 16);
        assert_eq!(one_core.calls(CallClass::Audio), 160);
        assert!(one_core.fits(Duration::from_millis(600), CallClass::Hd));
        assert!(!one_core.fits(Duration::from_millis(601), CallClass::Hd));
        assert!(one_core.fits(Duration::from_millis(601), CallClass::Audio));

        let admin = Capacity::from_hd_calls(10, CallCosts::pexip_ratios());
        assert_eq!(admin.calls(CallClass::Hd), 10);
        assert_eq!(admin.calls(CallClass::Sd), 20);
        assert_eq!(admin.calls(CallClass::Audio), 120);
        assert!((admin.usage(Duration::from_secs(6)) - 0.5).abs() < 1e-9);
    }
}

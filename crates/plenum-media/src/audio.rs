//! Audio: Opus codec, the per-participant "everyone but me" mixer, voice activity and limiter.

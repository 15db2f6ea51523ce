//! An event as published to many subscribers, with one slot where the first subscriber
//! that serialises its viewer-independent part leaves the text for all the others.

use std::sync::OnceLock;

use crate::conference::Event;

/// A conference event shared by every subscriber (event streams, the media engine).
///
/// Most of an event's wire form is the same for every viewer (a participant object, for
/// example); serialising it once per event instead of once per subscriber is what keeps
/// a roster change in a large meeting cheap. The cache holds whatever text the
/// subscribing boundary produces; the core never looks at it.
#[derive(Debug)]
pub struct Published {
    /// The event itself.
    pub event: Event,
    shared_text: OnceLock<String>,
}

impl Published {
    /// Wraps an event for publishing.
    pub fn new(event: Event) -> Published {
        Published {
            event,
            shared_text: OnceLock::new(),
        }
    }

    /// The viewer-independent text of this event, produced by `render` on first use and
    /// shared afterwards. All callers must render the same thing for the same event.
    pub fn shared_text(&self, render: impl FnOnce(&Event) -> String) -> &str {
        self.shared_text.get_or_init(|| render(&self.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disconnect::DisconnectReason;

    #[test]
    fn the_text_is_rendered_once() {
        let published = Published::new(Event::ConferenceEnded {
            reason: DisconnectReason::UserInitiated,
        });
        let mut calls = 0;
        assert_eq!(
            published.shared_text(|_| {
                calls += 1;
                "x".into()
            }),
            "x"
        );
        assert_eq!(
            published.shared_text(|_| {
                calls += 1;
                "y".into()
            }),
            "x"
        );
        assert_eq!(calls, 1);
    }
}

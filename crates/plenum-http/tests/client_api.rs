//! The client REST API v2 and its event stream, driven through `router(..).oneshot(..)`
//! over a fake node that runs a real plenum-core conference.

mod client_api {
    pub mod support;

    mod call;
    mod conference;
    mod events;
    mod participant;
    mod provision;
    mod routing;
    mod token;
}

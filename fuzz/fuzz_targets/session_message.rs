//! The session's message path without the actor: decode a whole client message
//! (`session::decode_message`), validate a join (`session::validate_join`), sanitise input
//! controls. Never panics; a refusal is always one of the documented close codes; an accepted
//! name passes the validator again; sanitised controls are finite with length ≤ 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tickcast_server::session::{decode_message, validate_join};
use tickcast_shared::arena::Controls;
use tickcast_shared::{close, validate, ClientMsg};

fuzz_target!(|data: &[u8]| {
    match decode_message::<Controls>(data) {
        Err(r) => assert_eq!(r.code(), close::INVALID_PAYLOAD),
        Ok(ClientMsg::Join(join)) => match validate_join(&join) {
            Ok(name) => {
                assert_eq!(validate::player_name(&name).as_deref(), Ok(name.as_str()));
            }
            Err(r) => assert!(
                r.code() == close::VERSION_MISMATCH || r.code() == close::INVALID_JOIN,
                "{r:?}"
            ),
        },
        Ok(ClientMsg::Input(input)) => {
            let c = input.controls.sanitized();
            assert!(c.x.is_finite() && c.y.is_finite(), "{c:?}");
            assert!(c.x * c.x + c.y * c.y <= 1.0 + 1e-5, "{c:?}");
        }
        Ok(ClientMsg::Ping(_)) => {}
    }
});

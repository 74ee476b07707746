//! Fragmented messages: a binary message sent as several frames is put back together, up to
//! `--max-message-bytes`, then handled like a whole one. A text start, a continuation with nothing
//! to continue, or a new message inside one closes the session with its [`Close`]. The actor in
//! `session.rs` hands every [`Item`] here.

use super::*;

impl<G: Game> Session<G> {
    pub(super) fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.env.config.max_message_bytes;
        match item {
            Item::FirstText(_) => self.close(ctx, Close::TextFrame),
            Item::FirstBinary(b) => {
                if self.fragments.is_some() {
                    return self.close(ctx, Close::FragmentInterrupted);
                }
                if b.len() > max {
                    return self.close(ctx, Close::TooBig);
                }
                self.fragments = Some(BytesMut::from(&b[..]));
            }
            Item::Continue(b) => self.append_fragment(&b, false, ctx),
            Item::Last(b) => self.append_fragment(&b, true, ctx),
        }
    }

    fn append_fragment(&mut self, b: &[u8], last: bool, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.env.config.max_message_bytes;
        let Some(buf) = self.fragments.as_mut() else {
            return self.close(ctx, Close::OrphanContinuation);
        };
        if buf.len() + b.len() > max {
            self.fragments = None;
            return self.close(ctx, Close::TooBig);
        }
        buf.extend_from_slice(b);
        if last {
            if let Some(whole) = self.fragments.take() {
                self.on_message(&whole, ctx);
            }
        }
    }
}

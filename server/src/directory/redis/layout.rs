//! The Redis layout of [`super::RedisDirectory`]: its Lua scripts (`../scripts/*.lua`) and its
//! key names, as the table in the directory's module docs lists them, and the two script runs
//! more than one operation shares (`scan.lua`, `renew.lua`).

use redis::aio::ConnectionManager;
use redis::Script;

use super::convert::{classify, corrupt, decode};
use super::Shared;
use crate::directory::{DirectoryError, Epoch, Node, NodeInfo};

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) claim: Script,
    pub(super) renew: Script,
    pub(super) release: Script,
    pub(super) scan: Script,
    pub(super) place: Script,
    pub(super) matchmake: Script,
    pub(super) offer: Script,
    pub(super) adopt: Script,
    pub(super) abort: Script,
    pub(super) image: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            claim: Script::new(include_str!("../scripts/claim.lua")),
            renew: Script::new(include_str!("../scripts/renew.lua")),
            release: Script::new(include_str!("../scripts/release.lua")),
            scan: Script::new(include_str!("../scripts/scan.lua")),
            place: Script::new(include_str!("../scripts/place.lua")),
            matchmake: Script::new(include_str!("../scripts/matchmake.lua")),
            offer: Script::new(include_str!("../scripts/offer.lua")),
            adopt: Script::new(include_str!("../scripts/adopt.lua")),
            abort: Script::new(include_str!("../scripts/abort.lua")),
            image: Script::new(include_str!("../scripts/image.lua")),
        }
    }
}

/// The key names (layout table in [`super`]).
pub(super) struct Keys {
    pub(super) prefix: String,
}

impl Keys {
    pub(super) fn owner(&self, room: &str) -> String {
        format!("{}{{{room}}}:owner", self.prefix)
    }

    pub(super) fn epoch(&self, room: &str) -> String {
        format!("{}{{{room}}}:epoch", self.prefix)
    }

    pub(super) fn nodes(&self) -> String {
        format!("{}{{cluster}}:nodes", self.prefix)
    }

    pub(super) fn node_prefix(&self) -> String {
        format!("{}{{cluster}}:node:", self.prefix)
    }

    pub(super) fn list_prefix(&self) -> String {
        format!("{}{{cluster}}:list:", self.prefix)
    }

    /// The quick-play seat promises: seats, when they lapse, fresh rooms.
    pub(super) fn seats(&self) -> [String; 3] {
        ["seats", "seats:lapse", "fresh"].map(|k| format!("{}{{cluster}}:{k}", self.prefix))
    }

    pub(super) fn image(&self, room: &str) -> String {
        format!("{}{{{room}}}:image", self.prefix)
    }

    pub(super) fn inbox(&self, node: &str) -> String {
        format!("{}inbox:{node}", self.prefix)
    }
}

/// `scan.lua`: every live node's record, with its encoded room list when `lists`.
pub(super) async fn scan(
    conn: &mut ConnectionManager,
    s: &Shared,
    lists: bool,
) -> Result<Vec<(NodeInfo, Option<Vec<u8>>)>, DirectoryError> {
    let list_prefix = if lists {
        s.keys.list_prefix()
    } else {
        String::new()
    };
    let values: Vec<Option<Vec<u8>>> = s
        .scripts
        .scan
        .key(s.keys.nodes())
        .arg(s.keys.node_prefix())
        .arg(list_prefix)
        .invoke_async(conn)
        .await
        .map_err(classify)?;
    let mut values = values.into_iter();
    let mut nodes = Vec::new();
    while let Some(record) = values.next() {
        let record = record.ok_or_else(|| corrupt(s.keys.nodes(), "scan returned no record"))?;
        let list = if lists { values.next().flatten() } else { None };
        nodes.push((decode(&record, "node record")?, list));
    }
    Ok(nodes)
}

/// `renew.lua` for one lease (a heartbeat renews many in one pipeline).
pub(super) fn renew_invocation<'a>(
    s: &'a Shared,
    room: &str,
    node: &Node,
    epoch: Epoch,
) -> redis::ScriptInvocation<'a> {
    let mut invocation = s.scripts.renew.prepare_invoke();
    invocation
        .key(s.keys.owner(room))
        .key(s.keys.epoch(room))
        .arg(&node.id)
        .arg(&node.url)
        .arg(epoch.0)
        .arg(s.lease_ms)
        .arg(s.epoch_ms);
    invocation
}

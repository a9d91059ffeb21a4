//! The check-in lane: a few connections kept beside the pool for the one
//! query every device check-in makes (its credential).
//!
//! sqlx's pool tests every connection it takes back with a ping — a full
//! round trip to the database — because a query future dropped half way
//! can leave a connection mid-answer. On the check-in path that ping was
//! the second round trip of a request meant to cost one: `perf` of idle
//! check-ins put it at about a seventh of the server's CPU, and the database
//! answers it too. The lane avoids the need instead of testing for it: a
//! connection goes back only after its query finished, and one whose lease
//! ends any other way (an error, a dropped request) is closed, never reused.
//!
//! The lane holds at most `capacity` connections, opened on demand with the
//! pool's own options. When none is free and the lane is full, or a lane
//! connection fails, the caller uses the pool as before: the lane adds
//! speed, never a new way to fail. A capacity of 0 turns it off (SQLite:
//! its single connection is the pool's, and its ping costs no round trip).

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, Database, Pool};

/// How long a lane connection serves before it is closed and replaced, as
/// sqlx's pool does by default: server-side memory a long-lived backend
/// accumulates is returned, and a failover's new primary is picked up.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

pub(crate) struct CheckInLane<DB: Database> {
    idle: Mutex<Vec<Kept<DB>>>,
    /// Connections of the lane, idle or leased.
    open: AtomicU32,
    capacity: u32,
}

struct Kept<DB: Database> {
    connection: DB::Connection,
    opened: Instant,
}

impl<DB: Database> CheckInLane<DB> {
    pub(crate) fn new(capacity: u32) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
            capacity,
        }
    }

    /// An idle lane connection, or a new one while the lane has room;
    /// `None` sends the caller to the pool.
    pub(crate) async fn lease(&self, pool: &Pool<DB>) -> Option<Lease<'_, DB>> {
        while let Some(kept) = self.pop_idle() {
            if kept.opened.elapsed() < MAX_LIFETIME {
                return Some(Lease {
                    lane: self,
                    kept: Some(kept),
                });
            }
            // Too old: dropping it closes its socket, and frees its place.
            self.open.fetch_sub(1, Ordering::AcqRel);
        }
        let place = Place::take(self)?;
        match DB::Connection::connect_with(&pool.connect_options()).await {
            Ok(connection) => Some(place.into_lease(Kept {
                connection,
                opened: Instant::now(),
            })),
            Err(error) => {
                tracing::warn!(%error, "could not open a check-in lane connection; using the pool");
                None
            }
        }
    }

    /// Open and idle connections, and the capacity.
    pub(crate) fn status(&self) -> crate::LaneStatus {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .len();
        crate::LaneStatus {
            size: self.open.load(Ordering::Acquire),
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.capacity,
        }
    }

    fn pop_idle(&self) -> Option<Kept<DB>> {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .pop()
    }
}

/// A place in the lane taken for a connection being opened; given back if
/// opening fails or the request goes away meanwhile.
struct Place<'a, DB: Database> {
    lane: &'a CheckInLane<DB>,
}

impl<'a, DB: Database> Place<'a, DB> {
    fn take(lane: &'a CheckInLane<DB>) -> Option<Self> {
        lane.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < lane.capacity).then_some(open + 1)
            })
            .ok()
            .map(|_| Self { lane })
    }

    fn into_lease(self, kept: Kept<DB>) -> Lease<'a, DB> {
        let lane = self.lane;
        std::mem::forget(self);
        Lease {
            lane,
            kept: Some(kept),
        }
    }
}

impl<DB: Database> Drop for Place<'_, DB> {
    fn drop(&mut self) {
        self.lane.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One lane connection, lent for one query.
pub(crate) struct Lease<'a, DB: Database> {
    lane: &'a CheckInLane<DB>,
    kept: Option<Kept<DB>>,
}

impl<DB: Database> Lease<'_, DB> {
    pub(crate) fn connection(&mut self) -> &mut DB::Connection {
        &mut self
            .kept
            .as_mut()
            .expect("a lease holds its connection until it ends")
            .connection
    }

    /// Returns the connection to the lane: only after a query that ran to
    /// its end, so the connection is ready for the next one.
    pub(crate) fn finished(mut self) {
        if let Some(kept) = self.kept.take() {
            self.lane
                .idle
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .push(kept);
        }
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    /// A lease that did not finish (an error, or the request dropped while
    /// its query ran) closes its connection: it may be mid-answer.
    fn drop(&mut self) {
        if self.kept.take().is_some() {
            self.lane.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

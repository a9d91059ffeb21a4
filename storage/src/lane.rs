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
//! pool's own options, within its acquire timeout. When none is free and
//! the lane is full, when opening one failed in the last few seconds, or
//! when a lane connection fails its query, the caller uses the pool as
//! before: the lane adds speed, never a new way to fail. A capacity of 0
//! turns it off (SQLite: its single connection is the pool's, and its ping
//! costs no round trip).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use sqlx::{Connection, Database, Pool};

/// How long a lane connection serves before it is closed and replaced, as
/// sqlx's pool does by default: server-side memory a long-lived backend
/// accumulates is returned, and a failover's new primary is picked up.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// After a connection could not be opened, how long the lane sends every
/// lookup to the pool without trying again: while the database is down a
/// check-in waits for one connection attempt (the pool's), not two.
const RETRY_AFTER: Duration = Duration::from_secs(5);

pub(crate) struct CheckInLane<DB: Database> {
    idle: Mutex<Vec<Kept<DB>>>,
    /// Connections of the lane, idle or leased.
    open: AtomicU32,
    capacity: u32,
    /// Set by [`Self::close`]: no lease is granted or taken back after it.
    closed: AtomicBool,
    /// When opening a connection last failed.
    failed_at: Mutex<Option<Instant>>,
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
            closed: AtomicBool::new(false),
            failed_at: Mutex::new(None),
        }
    }

    /// An idle lane connection, or a new one while the lane has room;
    /// `None` sends the caller to the pool.
    pub(crate) async fn lease(&self, pool: &Pool<DB>) -> Option<Lease<'_, DB>> {
        if self.capacity == 0 || self.closed.load(Ordering::Acquire) {
            return None;
        }
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
        if self.failed_recently() {
            return None;
        }
        let place = Place::take(self)?;
        // As long as the pool would wait for a connection, no longer.
        let options = pool.connect_options();
        let opening = DB::Connection::connect_with(&options);
        match tokio::time::timeout(pool.options().get_acquire_timeout(), opening).await {
            Ok(Ok(connection)) => Some(place.into_lease(Kept {
                connection,
                opened: Instant::now(),
            })),
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => "timed out".to_owned(),
                };
                tracing::warn!(%error, "could not open a check-in lane connection; using the pool");
                *lock(&self.failed_at) = Some(Instant::now());
                None
            }
        }
    }

    fn failed_recently(&self) -> bool {
        lock(&self.failed_at).is_some_and(|at| at.elapsed() < RETRY_AFTER)
    }

    /// Closes the idle connections (politely: the server is told) and lets
    /// leased ones close when their query ends; later lookups use the pool,
    /// which the store closes alongside.
    pub(crate) async fn close(&self) {
        // Under the lock that `Lease::finished` takes: no connection is put
        // back after the idle ones were taken.
        let idle = {
            let mut idle = lock(&self.idle);
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *idle)
        };
        for kept in idle {
            self.open.fetch_sub(1, Ordering::AcqRel);
            if let Err(error) = kept.connection.close().await {
                tracing::debug!(%error, "closing a check-in lane connection");
            }
        }
    }

    /// Open and idle connections, and the capacity.
    pub(crate) fn status(&self) -> crate::ConnectionCounts {
        let idle = lock(&self.idle).len();
        crate::ConnectionCounts {
            size: self.open.load(Ordering::Acquire),
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.capacity,
        }
    }

    fn pop_idle(&self) -> Option<Kept<DB>> {
        lock(&self.idle).pop()
    }
}

/// The lane's locks guard no invariant a panic could break half way.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
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
        let mut idle = lock(&self.lane.idle);
        if self.lane.closed.load(Ordering::Acquire) {
            return; // the lease drops after the lock, closing its connection
        }
        if let Some(kept) = self.kept.take() {
            idle.push(kept);
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

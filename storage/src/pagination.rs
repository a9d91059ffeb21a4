//! Keyset pagination. Rows are listed in id order (UUIDv7, so creation order)
//! and a page continues after the last id of the previous one: stable under
//! concurrent inserts and as cheap on page 1,000 as on page 1.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use uuid::Uuid;

use crate::StorageError;

/// The `nextCursor` a client hands back. Opaque to clients: the encoding may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    after: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor returned by this API")]
pub struct InvalidCursor;

impl Cursor {
    const PREFIX: u8 = 1;

    pub fn after(id: Uuid) -> Self {
        Self { after: id }
    }

    pub fn last_id(self) -> Uuid {
        self.after
    }

    pub fn encode(self) -> String {
        let mut bytes = Vec::with_capacity(17);
        bytes.push(Self::PREFIX);
        bytes.extend_from_slice(self.after.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        match bytes.split_first() {
            Some((&Self::PREFIX, id)) => Ok(Self {
                after: Uuid::from_slice(id).map_err(|_| InvalidCursor)?,
            }),
            _ => Err(InvalidCursor),
        }
    }
}

/// One page to fetch: at most `limit` rows after `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 500;

    pub fn first(limit: u32) -> Self {
        Self { limit, cursor: None }
    }

    /// The keyset to bind: the last id of the previous page, if any.
    pub(crate) fn after(&self) -> Option<Uuid> {
        self.cursor.map(Cursor::last_id)
    }

    /// The row limit to bind: one more than the page holds, to learn whether more follow.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more rows may follow.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says that more exist.
    pub fn from_overfetched(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> Uuid) -> Self {
        let limit = limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more {
            rows.last().map(|row| Cursor::after(id_of(row)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// [`Page::from_overfetched`] of the rows of a keyset query, each converted to a `T`.
    pub(crate) fn from_rows<R>(
        rows: Vec<R>,
        page: PageRequest,
        id_of: impl Fn(&T) -> Uuid,
    ) -> Result<Self, StorageError>
    where
        R: TryInto<T, Error = StorageError>,
    {
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_overfetched(items, page.limit, id_of))
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor::after(Uuid::now_v7());
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn foreign_text_is_not_a_cursor() {
        for text in [
            "",
            "abc",
            "!!!",
            &URL_SAFE_NO_PAD.encode([2u8; 17]),
            &URL_SAFE_NO_PAD.encode([1u8; 5]),
        ] {
            assert_eq!(Cursor::decode(text), Err(InvalidCursor), "{text}");
        }
    }

    #[test]
    fn overfetched_rows_yield_a_cursor_at_the_last_kept_row() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_overfetched(ids.clone(), 2, |id| *id);
        assert_eq!(page.items, ids[..2]);
        assert_eq!(page.next_cursor, Some(Cursor::after(ids[1])));
        let last = Page::from_overfetched(ids.clone(), 3, |id| *id);
        assert_eq!(last.next_cursor, None);
    }
}

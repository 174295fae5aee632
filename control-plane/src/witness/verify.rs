//! Comparing the database's chains with what witnesses saw: a chain shorter than a witnessed
//! checkpoint lost rows at its tail (cut short, or the database restored from an older
//! backup); a witnessed head hash that differs from the database's hash of that row means the
//! history was rewritten from there on (a fork). Either is named precisely, with the witness.

use crate::store::{Store, StoreError, GENESIS_HASH};
use ed25519_dalek::VerifyingKey;
use mtm_common::checkpoint::CHAINS;
use mtm_common::Checkpoint;
use std::collections::HashMap;

/// A checkpoint and who kept it (`agent r1`, `file ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// Where it came from.
    pub source: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
}

/// One disagreement between the database and a witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Rows `from..=to` of `chain` were witnessed but are not in the database.
    Missing {
        /// The chain.
        chain: String,
        /// First missing row.
        from: u64,
        /// Last missing row.
        to: u64,
        /// The witnessed checkpoint that counts `to` rows.
        witnessed: Witnessed,
        /// When the database's head is exactly an older witnessed checkpoint: its time (the
        /// database looks restored from a backup of then).
        matches_older: Option<i64>,
    },
    /// The database's row `row` does not hash to what a witness saw at that length.
    Forked {
        /// The chain.
        chain: String,
        /// The row whose hash differs; the history differs at or before it.
        row: u64,
        /// Its hash in the database.
        found: String,
        /// The checkpoint saying otherwise.
        witnessed: Witnessed,
    },
    /// A checkpoint whose signature does not hold for the control-plane key: made up, or from
    /// another installation. Never compared.
    Unverified {
        /// Where it came from.
        source: String,
        /// Why.
        reason: String,
    },
}

/// The comparison of every chain with every witnessed checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessReport {
    /// Per chain: its rows in the database and how many checkpoints agreed with it.
    pub agreed: Vec<(String, u64, u64)>,
    /// Everything that disagreed.
    pub findings: Vec<Finding>,
}

fn when(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{at} ms"))
}

impl Finding {
    /// [`Finding::describe`] as a message of the locales and its arguments (see
    /// `reconcile::Finding::with_message`), so it reads in each reader's language.
    pub fn message(&self) -> (&'static str, serde_json::Value) {
        use serde_json::json;
        match self {
            Finding::Missing {
                chain,
                from,
                to,
                witnessed,
                matches_older,
            } => {
                let args = json!({
                    "chain": chain,
                    "from": from,
                    "to": to,
                    "last": from.saturating_sub(1),
                    "signed": { "at": witnessed.checkpoint.at },
                    "source": witnessed.source,
                    "older": matches_older.map(|at| json!({ "at": at })),
                });
                match matches_older {
                    Some(_) => ("alert-msg-witness-missing-older", args),
                    None => ("alert-msg-witness-missing", args),
                }
            }
            Finding::Forked {
                chain,
                row,
                found,
                witnessed,
            } => (
                "alert-msg-witness-forked",
                json!({
                    "chain": chain,
                    "row": row,
                    "found": &found[..found.len().min(12)],
                    "signed": { "at": witnessed.checkpoint.at },
                    "source": witnessed.source,
                    "said": &witnessed.checkpoint.head_hash
                        [..witnessed.checkpoint.head_hash.len().min(12)],
                }),
            ),
            Finding::Unverified { source, reason } => (
                "alert-msg-witness-unverified",
                json!({ "source": source, "why": reason }),
            ),
        }
    }

    /// One line for people, naming the rows and the witness.
    pub fn describe(&self) -> String {
        match self {
            Finding::Missing {
                chain,
                from,
                to,
                witnessed,
                matches_older,
            } => {
                let range = if from == to {
                    format!("row {from}")
                } else {
                    format!("rows {from}–{to}")
                };
                let mut s = format!(
                    "{chain}: {range} missing: the database ends at row {}, but a checkpoint \
                     signed {} ({}) counts {to} rows; cut short, or rolled back to an older backup",
                    from.saturating_sub(1),
                    when(witnessed.checkpoint.at),
                    witnessed.source,
                );
                if let Some(at) = matches_older {
                    s.push_str(&format!(
                        " (its head is the one witnessed at {}: restored from a backup of then?)",
                        when(*at)
                    ));
                }
                s
            }
            Finding::Forked {
                chain,
                row,
                found,
                witnessed,
            } => format!(
                "{chain}: history forked at or before row {row}: the database's row {row} hashes \
                 to {}…, but a checkpoint signed {} ({}) says {}…",
                &found[..found.len().min(12)],
                when(witnessed.checkpoint.at),
                witnessed.source,
                &witnessed.checkpoint.head_hash[..witnessed.checkpoint.head_hash.len().min(12)],
            ),
            Finding::Unverified { source, reason } => {
                format!("a checkpoint from {source} is not believed: {reason}")
            }
        }
    }
}

/// Compare the store's chains with `witnessed`, checking each checkpoint's signature first.
pub async fn compare(
    store: &dyn Store,
    cp_key: &VerifyingKey,
    witnessed: &[Witnessed],
) -> Result<WitnessReport, StoreError> {
    let mut report = WitnessReport::default();
    let mut hashes: HashMap<(&str, u64), Option<String>> = HashMap::new();
    for chain in CHAINS {
        let head = store.chain_head(chain).await?;
        let mut agreed = 0;
        let mut longest: Option<&Witnessed> = None;
        let mut fork: Option<Finding> = None;
        let mut matches_older = None;
        for w in witnessed.iter().filter(|w| w.checkpoint.chain == chain) {
            let c = &w.checkpoint;
            if let Err(e) = c.verify(cp_key) {
                report.findings.push(Finding::Unverified {
                    source: w.source.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
            if c.rows > head.rows {
                if longest.is_none_or(|l| c.rows > l.checkpoint.rows) {
                    longest = Some(w);
                }
                continue;
            }
            let found = if c.rows == 0 {
                Some(GENESIS_HASH.to_owned())
            } else {
                match hashes.get(&(chain, c.rows)) {
                    Some(h) => h.clone(),
                    None => {
                        let h = store.chain_hash_at(chain, c.rows).await?;
                        hashes.insert((chain, c.rows), h.clone());
                        h
                    }
                }
            };
            let found = found.unwrap_or_default();
            if found == c.head_hash {
                agreed += 1;
                if c.rows == head.rows {
                    matches_older = Some(matches_older.map_or(c.at, |m: i64| m.max(c.at)));
                }
            } else if fork
                .as_ref()
                .is_none_or(|f| matches!(f, Finding::Forked { row, .. } if c.rows < *row))
            {
                fork = Some(Finding::Forked {
                    chain: chain.to_owned(),
                    row: c.rows,
                    found,
                    witnessed: w.clone(),
                });
            }
        }
        report.agreed.push((chain.to_owned(), head.rows, agreed));
        report.findings.extend(fork);
        if let Some(l) = longest {
            report.findings.push(Finding::Missing {
                chain: chain.to_owned(),
                from: head.rows + 1,
                to: l.checkpoint.rows,
                witnessed: l.clone(),
                matches_older: matches_older.filter(|m| *m < l.checkpoint.at),
            });
        }
    }
    Ok(report)
}

//! Jobs.

use uuid::Uuid;

use crate::job::{Job, JobStatus};
use crate::store::{StoreError, StoreResult};
use crate::time::Timestamp;

pub struct JobRecord<Id> {
    pub id: Id,
    pub kind: String,
    pub payload: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<Id: Into<Uuid>> TryFrom<JobRecord<Id>> for Job {
    type Error = StoreError;

    fn try_from(row: JobRecord<Id>) -> StoreResult<Self> {
        Ok(Self {
            id: row.id.into(),
            kind: row.kind,
            payload: row.payload,
            status: StoreError::parse_stored("job status", &row.status, JobStatus::parse)?,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            locked_until: row.locked_until,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

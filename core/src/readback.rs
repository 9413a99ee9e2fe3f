//! Reading back after an ambiguous write.
//!
//! A write that got no answer, or a 5xx, may or may not have taken effect;
//! a retry of one that did may meet an error that says its effect is
//! already there (`InvalidChangeBatch`, `PriorityInUse`). Writing again could
//! apply it twice, so the caller reads back what AWS holds and takes the
//! write as done when its result is there.
//!
//! Only a retry can meet its own effect. The same error on a first attempt
//! is a definite refusal: someone else (another resource, another
//! workspace, a person) wrote that record or took that priority, and
//! finding "what we wanted" there must not make it ours.

use std::future::Future;

use crate::error::{AwsError, AwsErrorKind, Result};

/// Whether AWS may have carried out a write that failed with `e`: no answer
/// or a 5xx, or `already_there`, the error a retry of a landed write meets,
/// met by a retry after an attempt whose answer was lost.
pub fn maybe_landed(e: &AwsError, already_there: Option<&str>) -> bool {
    e.kind == AwsErrorKind::Ambiguous || (e.after_lost_answer && already_there.is_some() && e.code.as_deref() == already_there)
}

/// The result of a write, confirmed by a read-back when it may have landed:
/// `read_back` returns the write's result when AWS already holds it, `None`
/// when it does not. A write that did not land, or whose read-back fails,
/// is the write's own error. `landed` is logged when the read-back confirms
/// the write.
pub async fn confirm<T, F, Fut>(written: Result<T, AwsError>, already_there: Option<&str>, read_back: F, landed: &str) -> Result<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let e = match written {
        Ok(v) => return Ok(v),
        Err(e) if maybe_landed(&e, already_there) => e,
        Err(e) => return Err(e.into()),
    };
    match read_back().await {
        Ok(Some(v)) => {
            tracing::info!(error = %e, "{landed}");
            Ok(v)
        }
        Ok(None) => Err(e.into()),
        Err(read) => {
            tracing::warn!(error = %e, read_back = %read, "the write was not confirmed and could not be read back");
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn err(kind: AwsErrorKind, code: &str) -> AwsError {
        AwsError::new("Write", kind, "failed").with_code(code)
    }

    #[tokio::test]
    async fn only_a_write_that_may_have_landed_is_read_back() {
        let read = || async { Ok(Some(7)) };
        assert_eq!(confirm(Ok(1), None, read, "").await.unwrap(), 1);
        assert_eq!(confirm(Err(err(AwsErrorKind::Ambiguous, "InternalFailure")), None, read, "").await.unwrap(), 7);
        let retried = || err(AwsErrorKind::Invalid, "PriorityInUse").after_lost_answer();
        assert_eq!(confirm(Err(retried()), Some("PriorityInUse"), read, "").await.unwrap(), 7);
        let refused = confirm(Err(retried()), None, read, "").await.unwrap_err();
        assert!(refused.to_string().contains("PriorityInUse"), "{refused}");
    }

    /// Two resources writing one record set: the second's first attempt is
    /// refused because the first's write is there. Finding what it wanted
    /// there must not make the write its own.
    #[tokio::test]
    async fn an_already_there_error_on_a_first_attempt_is_a_refusal_not_a_landed_write() {
        let read_back_called = std::sync::atomic::AtomicBool::new(false);
        let read = || async {
            read_back_called.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(7))
        };
        let first = err(AwsErrorKind::Invalid, "InvalidChangeBatch");
        let e = confirm(Err(first), Some("InvalidChangeBatch"), read, "").await.unwrap_err();
        assert!(e.to_string().contains("InvalidChangeBatch"), "{e}");
        assert!(!read_back_called.load(std::sync::atomic::Ordering::SeqCst), "a definite refusal was read back");
    }

    #[tokio::test]
    async fn a_write_that_did_not_land_or_cannot_be_read_back_is_its_own_error() {
        let e = confirm(Err(err(AwsErrorKind::Ambiguous, "InternalFailure")), None, || async { Ok(None::<u8>) }, "").await.unwrap_err();
        assert!(e.to_string().contains("Write failed: InternalFailure"), "{e}");
        let unreadable = || async { Err::<Option<u8>, _>(Error::Invalid("read failed".into())) };
        let e = confirm(Err(err(AwsErrorKind::Ambiguous, "InternalFailure")), None, unreadable, "").await.unwrap_err();
        assert!(e.to_string().contains("Write failed: InternalFailure"), "{e}");
    }
}

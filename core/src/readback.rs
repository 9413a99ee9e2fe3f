//! Reading back after an ambiguous write.
//!
//! A write that got no answer, or a 5xx, may or may not have taken effect;
//! an SDK retry of one that did may meet an error that says its effect is
//! already there (`InvalidChangeBatch`, `PriorityInUse`). Writing again could
//! apply it twice, so the caller reads back what AWS holds and takes the
//! write as done when its result is there.

use std::future::Future;

use crate::error::{AwsError, AwsErrorKind, Result};

/// Whether AWS may have carried out a write that failed with `e`: no answer
/// or a 5xx, or `already_there`, the error a retry of a landed write meets.
pub fn maybe_landed(e: &AwsError, already_there: Option<&str>) -> bool {
    e.kind == AwsErrorKind::Ambiguous || (already_there.is_some() && e.code.as_deref() == already_there)
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
        assert_eq!(confirm(Err(err(AwsErrorKind::Invalid, "PriorityInUse")), Some("PriorityInUse"), read, "").await.unwrap(), 7);
        let refused = confirm(Err(err(AwsErrorKind::Invalid, "PriorityInUse")), None, read, "").await.unwrap_err();
        assert!(refused.to_string().contains("PriorityInUse"), "{refused}");
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

//! An SDK interceptor that keeps the raw body of a call's response (one per call, so one
//! per page of a paginated call).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The body of the last attempt of one call.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Capture {
    pub fn new() -> Capture {
        Capture::default()
    }

    /// The body, once the call has returned.
    pub fn take(&self) -> Option<Vec<u8>> {
        // Poisoned only by a panic elsewhere while held; the slot is whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "snapaudit-capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Non-streaming bodies are loaded into memory before deserialization.
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

//! TODO(helper): the windows renderer.

use super::{RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput};

pub fn render_scep(input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
    todo!("{input:?}")
}

pub fn render_trusted(input: &TrustedPayloadInput<'_>) -> Result<Rendered, RenderError> {
    todo!("{input:?}")
}

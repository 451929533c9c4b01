// docs/catalogue.md, generated from the registries: every model and distillation method of the
// three tasks with its one-line description (the paper it implements, written once in its file)
// and its declared parameters. `recpress run --catalogue` prints it; a test fails when the file
// drifts from the code.
#pragma once

#include <string>

namespace recpress::pipeline {

std::string catalogue_reference();

}  // namespace recpress::pipeline

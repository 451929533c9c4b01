// The CLI side of the declared training options (train/options.h): one flag per option of the
// command's task, with the table's doc and the task's default, and options files, whose keys are
// the command's long options (the command line written as YAML; the command line wins).
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "cli/commands.h"
#include "core/errors.h"

namespace recpress::cli {

void add_train_option_flags(CLI::App* cmd, TrainOptions& options,
                            const std::vector<std::string>& only) {
  for (const auto& d : train_option_decls()) {
    const std::string& name = d.param.name;
    if (!d.flag || !d.used_by(options.task)) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::string flag = "--" + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    std::string doc = d.param.doc;
    if (!d.param.range_text().empty()) doc += " (" + d.param.range_text() + ")";
    const char* type = d.param.kind == ParamDecl::Kind::kInt    ? "INT"
                       : d.param.kind == ParamDecl::Kind::kReal ? "NUMBER"
                                                                : "TEXT";
    cmd->add_option_function<std::string>(
           flag, [&options, name](const std::string& value) { options.set(name, value); }, doc)
        ->type_name(type)
        ->default_str(options.get(name));
  }
}

void add_options_file_flag(CLI::App* cmd, std::string& path) {
  cmd->add_option("--options,--recipe", path,
                  "YAML file of this command's options: keys are the long option names "
                  "(`batch_size` or `batch-size`), values or lists; the command line wins");
}

void apply_options_file(const std::string& path, const CLI::App& cmd) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(path + ": cannot read the options file");
  } catch (const YAML::Exception& e) {
    throw DataError(path, static_cast<std::size_t>(e.mark.line) + 1, "",
                    std::string("bad YAML: ") + e.msg);
  }
  if (!root.IsMap())
    throw DataError(path, 0, "", "an options file is a mapping of options to values");
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const auto line = static_cast<std::size_t>(kv.second.Mark().line) + 1;
    std::replace(key.begin(), key.end(), '_', '-');
    // const_cast: feeding a result to an option is what parsing does; the App is ours.
    auto* opt = const_cast<CLI::Option*>(cmd.get_option_no_throw("--" + key));
    if (opt == nullptr || key == "options" || key == "recipe")
      throw DataError(path, static_cast<std::size_t>(kv.first.Mark().line) + 1, key,
                      "unknown option (the keys are this command's long options; see --help)");
    if (opt->count() > 0) continue;  // given on the command line
    std::vector<std::string> values;
    if (kv.second.IsSequence()) {
      for (const auto& item : kv.second) values.push_back(item.as<std::string>());
    } else if (kv.second.IsScalar()) {
      values.push_back(kv.second.Scalar());
    } else {
      throw DataError(path, line, key, "expected a value or a list");
    }
    if (values.size() != 1 && opt->get_expected_max() <= 1)
      throw DataError(path, line, key, "expected a single value");
    try {
      for (const auto& v : values) opt->add_result(v);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw DataError(path, line, key, e.what());
    } catch (const Error& e) {
      throw DataError(path, line, key, e.what());
    }
  }
}

}  // namespace recpress::cli

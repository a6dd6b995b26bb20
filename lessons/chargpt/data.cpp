// The text the model learns from, and its vocabulary: every distinct character of the text, sorted;
// a character's token id is its place in that order (datasets/text.h). The same ids must mean the
// same characters for as long as a model lives, so a checkpoint stores its vocabulary and a text
// with another one cannot continue it.
#include <filesystem>
#include <iostream>

#include "core/fs.h"
#include "lessons/chargpt/lesson.h"

namespace ember::chargpt {

Corpus load_training_text(const Config& cfg, std::ostream& log) {
  const std::string& data = cfg.get_string("data");
  if (!data.empty()) {
    check(file_exists(data), "chargpt: --data=", data, ": file not found");
    return {read_file(data), data};
  }
  const std::string& dataset = cfg.get_string("dataset");
  if (!dataset.empty()) {
    const std::string path = "data/" + dataset + "/input.txt";  // as nanoGPT: data/NAME/...
    if (file_exists(path)) return {read_file(path), path};
    log << "dataset = '" << dataset << "' means the text file " << std::filesystem::absolute(path).string()
        << ", which is not there.\n"
        << "  Put a UTF-8 text file there (for the course's 'hca': H.C. Andersen's tales, from your teacher),\n"
        << "  or train on any text file with --data=FILE.\n"
        << "  Training on the default corpus instead: Debian's fortunes (" << kFortunesDir << ").\n";
  }
  return {default_corpus(), std::string("the default corpus (Debian's fortunes, ") + kFortunesDir + ")"};
}

namespace {

// The characters of `chars` that `other` lacks, described, at most `limit` of them.
std::string missing_from(const std::u32string& chars, const Vocab& other, size_t limit = 8) {
  std::string listed;
  size_t count = 0;
  for (char32_t c : chars) {
    if (other.contains(c)) continue;
    if (count < limit) listed += (listed.empty() ? "" : ", ") + describe_char(c);
    ++count;
  }
  if (count > limit) listed += " and " + std::to_string(count - limit) + " more";
  return listed.empty() ? "none" : listed;
}

}  // namespace

void check_same_vocab(const Vocab& checkpoint_vocab, const std::string& checkpoint_path, const Vocab& text_vocab,
                      const std::string& text_source) {
  if (checkpoint_vocab.chars() == text_vocab.chars()) return;
  fail("chargpt: the checkpoint ", checkpoint_path, " was trained on a vocabulary of ", checkpoint_vocab.size(),
       " characters, but the text (", text_source, ") has ", text_vocab.size(),
       " distinct characters, and they differ (only in the text: ",
       missing_from(text_vocab.chars(), checkpoint_vocab), "; only in the checkpoint: ",
       missing_from(checkpoint_vocab.chars(), text_vocab),
       "): the token ids would mean other characters; resume with the text the checkpoint was trained on");
}

}  // namespace ember::chargpt

-- funky.sd and funky.tensor as scripts use them: the golden tiny model in
-- both layouts, token ids and text embeddings against transformers, A1111
-- weighting and long prompts, tensor files, and clear errors.
local T = dofile(arg[0]:match("^(.*)/") .. "/harness.lua")
local funky = require "funky"
local tmp = assert(arg[1], "usage: test_sd_api.lua TMPDIR")
os.execute("mkdir -p '" .. tmp .. "'")
local g = (os.getenv("SRC") or ".") .. "/../shared/golden/"
local cases = g .. "cases/text_encoder.safetensors"
local prompts = { "a photo of a cat", "iceland vista high res photo 4k cinematic lighting anamorphic 16mm", "" }

for _, layout in ipairs { "tiny-sd", "tiny-sd.safetensors" } do
  for _, dev in ipairs { { device = "cpu" }, { device = "vulkan", f16 = false }, { device = "vulkan", f16 = true } } do
    local sd = funky.sd.load(g .. layout, dev)
    local limit = dev.f16 and 1e-2 or 1e-4
    local what = layout .. " " .. dev.device .. (dev.f16 and " f16" or "")
    for i, p in ipairs(prompts) do
      local ids = sd:tokenize(p)
      local ref = funky.tensor.load(cases, "input_ids_" .. (i - 1)):table()[1]
      local same = #ids == 77
      for k = 1, 77 do same = same and ids[k] == ref[k] end
      T.check(same, what .. ": token ids of prompt " .. i)
      local emb = sd:encode_text(p, { weighting = "none" })
      local err = emb:rel_error(funky.tensor.load(cases, "last_hidden_state_" .. (i - 1)))
      T.check(err < limit, ("%s: prompt %d relative error %.3g"):format(what, i, err))
    end
    T.check(sd:device().validation_messages == 0, what .. ": validation messages")
    sd:close()
  end
end

local sd = funky.sd.load(g .. "tiny-sd", { device = "cpu" })
T.check(sd:config().family == "custom" and sd:config().text_width == 64, "config")
-- A1111 weighting: plain text gives the diffusers result, emphasis changes it
local plain = sd:encode_text(prompts[1], { weighting = "none" })
T.check(sd:encode_text(prompts[1]):rel_error(plain) < 1e-6, "a1111 without emphasis = plain")
local strong = sd:encode_text("a (photo:1.5) of a cat")
local d = strong:rel_error(plain)
T.check(d > 1e-3, "emphasis changes the embedding: " .. d)
T.check(math.abs(strong:stats().mean - plain:stats().mean) < 1e-5, "mean kept after weighting")
-- long prompts: two chunks of 77
local long = string.rep("a red fox, ", 20)
T.check(sd:encode_text(long):shape()[2] == 154, "a1111 long prompt: two chunks")
T.check(sd:encode_text(long, { weighting = "none", long = true }):shape()[2] == 154, "plain long prompt")
T.check(sd:encode_text(long, { weighting = "none", long = false }):shape()[2] == 77, "truncated")
T.check(sd:encode_text("a BREAK cat"):shape()[2] == 154, "BREAK starts a chunk")
T.check(sd:encode_text(prompts[1], { weighting = "none", clip_skip = 1 }):rel_error(plain) > 1e-3,
  "clip_skip changes the output")
T.raises("clip_skip", sd.encode_text, sd, "x", { clip_skip = 9 })
T.raises("weighting", sd.encode_text, sd, "x", { weighting = "comfy" })

-- tensors
plain:save(tmp .. "/emb.safetensors", "emb")
local back = funky.tensor.load(tmp .. "/emb.safetensors", "emb")
T.check(back:rel_error(plain) == 0 and back:dtype() == "f32", "save/load round trip")
local s = back:stats()
T.check(s.min < s.mean and s.mean < s.max and not s.nan, "stats")
T.check(#back:table()[1] == 77 and #back:table()[1][1] == 64, "nested table")
T.check(tostring(back) == "tensor f32 [1, 77, 64]", tostring(back))
T.raises("no tensor named", funky.tensor.load, tmp .. "/emb.safetensors", "nope")

-- errors name what is wrong
T.raises("does not exist", funky.sd.load, tmp .. "/no-such-model")
T.raises("not a Stable Diffusion checkpoint", funky.sd.load, tmp .. "/emb.safetensors")
T.raises("device", funky.sd.load, g .. "tiny-sd", { device = "tpu" })
T.done()

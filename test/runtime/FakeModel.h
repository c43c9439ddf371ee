/* Shape of the fake model used by the runtime tests; shared by the fake
 * kernel payload (fake_payload.c) and the tests (RuntimeTest.cpp). */
#ifndef LLMC_TEST_RUNTIME_FAKEMODEL_H
#define LLMC_TEST_RUNTIME_FAKEMODEL_H

#define FAKE_HIDDEN 8
#define FAKE_INTERMEDIATE 16
#define FAKE_LAYERS 2
#define FAKE_HEADS 4
#define FAKE_KV_HEADS 2
#define FAKE_HEAD_DIM 2
#define FAKE_VOCAB 32
#define FAKE_MAX_CONTEXT 64
#define FAKE_PREFILL_CHUNK 5
#define FAKE_ARENA 4096
#define FAKE_KV_DIM (FAKE_KV_HEADS * FAKE_HEAD_DIM)
/* Weight 1 ("norm") sits at this offset in the weights segment: the fake
 * code bakes it in, as generated code does. */
#define FAKE_W1_OFFSET 64

/* Bytes of weights the fake forward kernel binds. */
#define FAKE_WEIGHTS_BOUND (FAKE_W1_OFFSET + 4)

/* Logits row layout written by the fake kernel for a token t at position p of
 * a call (start_pos, n_tokens):
 *   [0] t * 1000 + p + 1      [1] sum of the tokens at positions 0..p (read
 *   back from the V cache)    [2] n_tokens   [3] weights[0] (f32)
 *   [4] start_pos             [5] f32 at weights + FAKE_W1_OFFSET
 *   [v >= 6] v * 0.5, plus FAKE_TAG at [6] (0, or 1 for the variant
 *   linked with -z nodelete); [7] is -1 if the fill kernel's grid was not
 *   covered exactly (fake_payload.c) */
#define FAKE_ROW_FIXED 6

#endif

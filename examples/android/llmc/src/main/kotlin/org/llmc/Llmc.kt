package org.llmc

/**
 * A Llama 3 model compiled by llmc, running on the phone's CPU (or GPU).
 *
 * The native side is libllmc_jni.so (src/main/cpp): the llmc runtime and,
 * for an `android/cpu` model built with `llmc build --emit static-lib`, the
 * model's kernels linked in. The weights are the model's `.llmc` file
 * (ship it as an asset and copy it to filesDir, or download it).
 *
 *     Llmc.open(File(filesDir, "model.llmc").path).use { model ->
 *         model.generate("Why is the sky blue?", maxNew = 64) { text -> print(text) }
 *     }
 *
 * One generation at a time per instance; each starts from an empty context.
 */
class Llmc private constructor(private var handle: Long) : AutoCloseable {

    /** Receives each complete piece of UTF-8 text; return false to stop. */
    fun interface TextListener {
        fun onText(text: ByteArray): Boolean
    }

    /**
     * Generates up to [maxNew] tokens after [prompt] (greedy at temperature
     * 0), calling [onText] as text completes; returns the tokens generated.
     * Throws IllegalStateException with the runtime's message on failure.
     */
    fun generate(prompt: String, maxNew: Int = 128, temperature: Float = 0f,
                 onText: (String) -> Unit): Int {
        check(handle != 0L) { "llmc: the model is closed" }
        return nativeGenerate(handle, prompt.toByteArray(Charsets.UTF_8), maxNew, temperature,
            TextListener { bytes -> onText(String(bytes, Charsets.UTF_8)); true })
    }

    override fun close() {
        if (handle != 0L) nativeClose(handle)
        handle = 0L
    }

    companion object {
        init {
            System.loadLibrary("llmc_jni")
        }

        /** Opens the model's weights; [threads] 0 uses every core. */
        @JvmStatic
        fun open(path: String, threads: Int = 0): Llmc = Llmc(nativeOpen(path, threads))

        @JvmStatic private external fun nativeOpen(path: String, threads: Int): Long
        @JvmStatic private external fun nativeGenerate(handle: Long, prompt: ByteArray, maxNew: Int,
                                                       temperature: Float, listener: TextListener): Int
        @JvmStatic private external fun nativeClose(handle: Long)
    }
}

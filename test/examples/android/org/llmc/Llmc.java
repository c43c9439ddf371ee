// A JVM stand-in for examples/android's org.llmc.Llmc (Kotlin): the same
// class name and native methods, so the JNI bridge (llmc_jni.c) built for
// the host runs under `java` here as it runs under ART on a phone.
//   java -Djava.library.path=DIR org.llmc.Llmc model.llmc "prompt" max_new
package org.llmc;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

public final class Llmc {
  public interface TextListener {
    boolean onText(byte[] text);
  }

  private static native long nativeOpen(String path, int threads);

  private static native int nativeGenerate(long handle, byte[] prompt, int maxNew,
                                           float temperature, TextListener listener);

  private static native void nativeClose(long handle);

  public static void main(String[] args) {
    System.loadLibrary("llmc_jni");
    long handle = nativeOpen(args[0], 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int n = nativeGenerate(handle, args[1].getBytes(StandardCharsets.UTF_8),
                           Integer.parseInt(args[2]), 0f, bytes -> {
                             out.write(bytes, 0, bytes.length);
                             return true;
                           });
    System.out.println(args[1] + new String(out.toByteArray(), StandardCharsets.UTF_8));
    System.err.println(n + " tokens");
    nativeClose(handle);
    try {
      nativeOpen(args[0] + ".missing", 0);
    } catch (IllegalStateException e) {
      System.err.println("refused: " + e.getMessage());
    }
  }
}

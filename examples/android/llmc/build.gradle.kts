// The llmc Android library module: org.llmc.Llmc (Kotlin) and its JNI
// bridge, built by the NDK from src/main/cpp. See ../README.md for the two
// llmc inputs (the runtime cross-built for arm64-v8a, the model's library).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "org.llmc"
    compileSdk = 34
    defaultConfig {
        minSdk = 26 // memfd_create through syscall(); API 29 is the real floor for large mmaps
        ndk { abiFilters += listOf("arm64-v8a") }
        externalNativeBuild {
            cmake {
                arguments += listOf(
                    "-DLLMC_RUNTIME_DIR=" + (project.findProperty("llmc.runtimeDir") ?: ""),
                    "-DLLMC_MODEL_DIR=" + (project.findProperty("llmc.modelDir") ?: ""),
                )
            }
        }
    }
    externalNativeBuild {
        cmake { path = file("src/main/cpp/CMakeLists.txt") }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

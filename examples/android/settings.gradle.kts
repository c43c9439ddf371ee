// An app's settings.gradle.kts includes the module as it includes its own:
//   include(":llmc"); project(":llmc").projectDir = file("path/to/examples/android/llmc")
pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
    plugins {
        id("com.android.library") version "8.5.2"
        id("org.jetbrains.kotlin.android") version "1.9.24"
    }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "llmc-android"
include(":llmc")

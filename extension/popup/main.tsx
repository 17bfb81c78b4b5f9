/** The popup's entry: mounts the app with the real worker behind `api`. */
import { render } from "preact";
import { onLock } from "../shared/lock-signal.js";
import { createApi } from "./api.js";
import { App } from "./app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App api={createApi()} onLock={onLock} />, root);

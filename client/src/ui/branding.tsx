import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { api } from "../protocol/api";
import type { Branding } from "../protocol/types";

// The business's name, logo and imprint link (docs/operations.md, "Branding"). The colours
// arrive as CSS variables from /branding.css, linked in index.html.
const DEFAULT: Branding = { name: "Parley", logo_url: null, colors: null, imprint_url: null };

const BrandingContext = createContext<Branding>(DEFAULT);

export function BrandingProvider({ children }: { children: ReactNode }) {
  const [branding, setBranding] = useState<Branding>(DEFAULT);
  useEffect(() => {
    let cancelled = false;
    api
      .branding()
      .then((value) => !cancelled && setBranding(value))
      .catch(() => undefined); // the default look is a fine fallback
    return () => {
      cancelled = true;
    };
  }, []);
  return <BrandingContext.Provider value={branding}>{children}</BrandingContext.Provider>;
}

export function useBranding(): Branding {
  return useContext(BrandingContext);
}

//! The console's words for what the service records in English codes
//! (states, steps, outcomes): an operator reads Portuguese. A code this list
//! does not know is shown as it is.

/// A lead's state.
pub(super) fn state(s: &str) -> &str {
    match s {
        "pending" => "aguardando",
        "processing" => "em processamento",
        "completed" => "concluído",
        "failed" => "falhou",
        other => other,
    }
}

/// The step a lead's run is at.
pub(super) fn step(s: &str) -> &str {
    match s {
        "lead" => "leitura do lead",
        "discover" => "identificação",
        "dossier" => "dossiê",
        "store" => "gravação",
        "note" => "nota",
        "create" => "criação do lead",
        "done" => "fim",
        other => other,
    }
}

/// How a lead ended.
pub(super) fn outcome(s: &str) -> &str {
    match s {
        "enriched" => "enriquecido",
        "nobody_found" => "ninguém encontrado",
        "failed" => "falhou",
        "in_progress" => "em andamento",
        other => other,
    }
}

/// The identity confidence of a lead's person.
pub(super) fn confidence(s: &str) -> &str {
    match s {
        "confirmed" => "confirmada",
        "probable" => "provável",
        "none" => "nenhuma",
        other => other,
    }
}

/// Whether the note went out.
pub(super) fn note_status(s: &str) -> &str {
    match s {
        "none" => "sem nota",
        "pending" => "pendente",
        "sent" => "enviada",
        other => other,
    }
}

/// A timeline event's kind.
pub(super) fn event_kind(kind: &str) -> &str {
    match kind {
        "lead" => "lead",
        "webhook" => "webhook",
        "job" => "tarefa",
        "call" => "fornecedor",
        "person" => "pessoa",
        "delivery" => "entrega",
        "action" => "ação",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_read_in_portuguese_and_unknown_ones_pass_through() {
        assert_eq!(state("completed"), "concluído");
        assert_eq!(outcome("nobody_found"), "ninguém encontrado");
        assert_eq!(confidence("probable"), "provável");
        assert_eq!(note_status("sent"), "enviada");
        assert_eq!(step("discover"), "identificação");
        assert_eq!(event_kind("call"), "fornecedor");
        assert_eq!(state("something_new"), "something_new");
    }
}
